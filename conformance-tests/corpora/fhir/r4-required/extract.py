#!/usr/bin/env python3
"""Extracts required-elements.json from the npm package hl7.fhir.r4.examples 4.0.1.

Usage: extract.py PACKAGE_DIR > required-elements.json
(PACKAGE_DIR is the unpacked tarball's `package/` folder.)
"""
import glob
import json
import os
import sys

rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "StructureDefinition-*.json"))):
    with open(path, encoding="utf-8") as file:
        definition = json.load(file)
    if definition.get("derivation") != "specialization":
        continue
    if definition.get("kind") not in ("complex-type", "resource"):
        continue
    for element in definition["snapshot"]["element"]:
        if "." in element["path"] and element.get("min", 0) >= 1:
            types = [t["code"] for t in element.get("type", [])]
            rows.append([element["path"], element["min"], element["max"], types])
rows.sort()
print("[")
print(",\n".join(json.dumps(row, separators=(",", ":")) for row in rows))
print("]")

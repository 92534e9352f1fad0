"""A demo receiver for a zorgpoort demo region: stands in for a GP practice's
or nursing home's FHIR endpoint.

It accepts every POST (a delivered Bundle, or a handover Task notification at
.../Task), answers 200, logs one line without the body, and keeps the last
100 receipts in memory: GET /inbox lists them, GET /inbox/N shows one,
GET /healthz answers "ok". Fictional data only; no TLS, no authentication:
never point a real region at it.

    python3 receiver.py --name de-linde --port 8000
"""

import argparse
import collections
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024
KEPT = 100


class Inbox:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = collections.deque(maxlen=KEPT)
        self.count = 0

    def add(self, path, content_type, body):
        summary = {"path": path, "content_type": content_type, "bytes": len(body), "received": time.time()}
        try:
            resource = json.loads(body)
            summary["resourceType"] = resource.get("resourceType")
            if resource.get("resourceType") == "Bundle":
                summary["entries"] = len(resource.get("entry", []))
        except (ValueError, AttributeError):
            pass
        with self.lock:
            self.count += 1
            summary["number"] = self.count
            self.items.append((summary, body))
        return summary

    def list(self):
        with self.lock:
            return [summary for summary, _ in self.items]

    def get(self, number):
        with self.lock:
            for summary, body in self.items:
                if summary["number"] == number:
                    return body
        return None


def handler(name, inbox):
    class Handler(BaseHTTPRequestHandler):
        server_version = "zorgpoort-demo-receiver"

        def answer(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.answer(413, '{"error":"too large"}')
                return
            body = self.rfile.read(length)
            summary = inbox.add(self.path, self.headers.get("Content-Type", ""), body)
            print(f"{name}: #{summary['number']} {self.path} {summary.get('resourceType')} {len(body)} bytes",
                  flush=True)
            self.answer(200, json.dumps({"resourceType": "OperationOutcome", "issue": [
                {"severity": "information", "code": "informational", "diagnostics": f"received by {name}"}]}),
                "application/fhir+json")

        def do_GET(self):
            if self.path == "/healthz":
                self.answer(200, "ok\n", "text/plain")
            elif self.path == "/inbox":
                self.answer(200, json.dumps({"receiver": name, "received": inbox.list()}, indent=1))
            elif self.path.startswith("/inbox/") and self.path[7:].isdigit():
                body = inbox.get(int(self.path[7:]))
                if body is None:
                    self.answer(404, '{"error":"not kept"}')
                else:
                    self.answer(200, body, "application/fhir+json")
            else:
                self.answer(404, '{"error":"GET /inbox, /inbox/N or /healthz"}')

        def log_message(self, format, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description="zorgpoort demo receiver")
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--bind", default="0.0.0.0")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.bind, args.port), handler(args.name, Inbox()))
    print(f"{args.name}: demo receiver on {args.bind}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()

//! `zorgpoort demo`: the five-minute tour. Starts a whole region in this
//! process (the gateway on loopback ports the OS picks, its demo inbox as
//! the nursing homes' FHIR servers, data in a temporary directory), then
//! plays a discharge from hospital to nursing home through the gateway's
//! real MLLP and HTTP interfaces and prints what happened as a timeline.
//! Every step checks its outcome; the first that does not hold ends the
//! tour with its name and a non-zero exit status. Every wait has a limit.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_handover::bgz::QUERIES;
use zorgpoort_server::Config;
use zorgpoort_store::{AuditRecord, Durability, SqliteStore, Store};

/// Arguments of `zorgpoort demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs a scripted regional handover in one process and prints its timeline: a hospital \
discharges a patient (HL7 v2 ADT^A03 over MLLP and a CDA nursing-transfer letter over HTTP), a GP practice \
sends a lab result (EDIFACT MEDLAB), two nursing homes (one on FHIR R4, one on FHIR STU3) receive, take the \
handover (eOverdracht Tasks) and retrieve the BgZ, with the patient's consent deciding what crosses and every \
step in the tamper-evident audit log.\n\nAll organisations and patients are fictional. The gateway listens on \
loopback ports chosen by the OS; its data lives in a temporary directory removed at the end unless --keep or \
--data-dir is given. Exit status 0 when every step did what it should, 1 naming the step that did not."
)]
pub struct DemoArgs {
    /// Keep the data in this directory (it is created; inspect it afterwards with
    /// `zorgpoort audit --data-dir DIR ...`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the temporary data directory and print where it is.
    #[arg(long)]
    keep: bool,
}

/// The region of the tour.
const REGION: &str = include_str!("demo-tour.toml");

/// The patient of every message (a test BSN that passes the 11-check).
const BSN: &str = "999993653";

/// The hospital's discharge: a depression (mental health, which the patient
/// will withhold) and a hip fracture, an allergy.
const DISCHARGE: &str = "MSH|^~\\&|HIS|OUDEGRACHT|ZORGPOORT|ZORGPOORT|20261029170000+0100||ADT^A03^ADT_A03|OUD-A03-0042|P|2.5\r\
EVN|A03|20261029170000+0100\r\
PID|1||7731^^^OUDEGRACHT^PI~999993653^^^NLMINBIZA^NNNLD||ter Horst^Gerrit||19361201|M\r\
PV1|1|I|B3^301^1||||||||||||||||V2026-0042|||||||||||||||||||||||||20261020080000+0100|20261029160000+0100\r\
DG1|1||F32.1^Depressieve episode^I10|||F\r\
DG1|2||S72.0^Collumfractuur^I10|||F\r\
AL1|1|DA|70618^Penicilline^RXNORM|SV|urticaria\r";

/// The nursing transfer letter (a CDA document of the hospital).
const TRANSFER_LETTER: &[u8] = include_bytes!("../../../adapters/cda/tests/fixtures/overdracht-verpleegkundig.xml");

/// The GP practice's lab result for the same patient.
const LAB_RESULT: &str = "UNA:+.? '\
UNB+UNOA:1+01234567:30+90000003:30+261029:1500+VAART2610290001'\
UNH+1+MEDLAB:1'\
ZKH+Huisartsenpraktijk De Vaart+Dorpsstraat:12::Utrecht:3511AA+030-1234567'\
PID+1936:12:01+M+ter Horst:::::G.++BSN999993653'\
PAD+Eikenlaan:3::Utrecht:3512AB+?+31612345678'\
ART+H+01234567+B. de Vries, huisarts+Dorpsstraat:12::Utrecht:3511AA+030-1234567'\
AFD+Praktijklaboratorium+030-1234568'\
ARA:1+B. de Vries+030-1234567'\
DET:1+26:10:29+09:20'\
IDE:1+J+V2610290042'\
BEP:1:1:1+1+NIERFUNCTIE'\
BEP:1:1:2+0+Kreatinine+112++umol/l+H+60+110+KREA:NHG'\
BEP:1:1:3+0+eGFR (CKD-EPI)+58++ml/min/1.73m2+L+60++EGFR:NHG'\
OPB:1:1:3:1+eGFR verlaagd; controle over 3 maanden'\
OPB:1:1:3:2+volgens NHG-standaard CVRM'\
BEP:1:1:4+1+HEMATOLOGIE'\
BEP:1:1:5+0+Hemoglobine+8.4++mmol/l++7.5+10.0+HB:NHG'\
BEP:1:1:6+0+Leukocyten+6.1++10^9/l++4.0+10.0+LEUC:NHG'\
TXT+Uitslagen geautoriseerd door de huisarts'\
UNT+19+1'\
UNZ+1+VAART2610290001'";

/// Longest wait for anything the gateway does in the background.
const WAIT: Duration = Duration::from_secs(10);
/// Longest time one HTTP exchange or MLLP round trip may take.
const CALL: Duration = Duration::from_secs(30);
/// The whole tour's limit: it must never hang.
const TOUR: Duration = Duration::from_secs(120);

/// Runs the tour.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let (data_dir, remove) = match &args.data_dir {
        // A second tour in the same store would find its messages and Tasks
        // there already and tell a different story.
        Some(dir) if dir.join("zorgpoort.db").exists() => {
            bail!("{} already holds a store; give the tour a new directory", dir.display())
        }
        Some(dir) => (dir.clone(), false),
        None => {
            let dir = std::env::temp_dir().join(format!("zorgpoort-demo-{}", uuid::Uuid::new_v4()));
            (dir, !args.keep)
        }
    };
    let mut config = Config::load(Some(REGION), std::iter::empty()).context("the demo region")?;
    config.server.data_dir.clone_from(&data_dir);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let gateway = zorgpoort_server::start(config)
            .await
            .context("the gateway did not start")?;
        let store = SqliteStore::open(&data_dir.join("zorgpoort.db"), Durability::ProcessCrash)
            .context("the gateway's store")?;
        let mut tour = Tour::new(gateway.http_addr(), gateway.mllp_addr(), store);
        tour.say(
            "zorgpoort",
            &format!(
                "demo region up: HTTP http://{}, MLLP {}, data in {}",
                gateway.http_addr(),
                gateway.mllp_addr(),
                data_dir.display()
            ),
        );
        let outcome = match tokio::time::timeout(TOUR, tour.run()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(anyhow!("the tour took longer than {} s", TOUR.as_secs())),
        };
        if tokio::time::timeout(WAIT, gateway.shutdown()).await.is_err() {
            eprintln!("zorgpoort demo: the gateway did not stop within {} s", WAIT.as_secs());
        }
        outcome
    });
    runtime.shutdown_timeout(WAIT);
    if remove {
        let _ = std::fs::remove_dir_all(&data_dir);
    } else {
        outln!("data kept in {}", data_dir.display())?;
    }
    match result {
        Ok(()) => {
            outln!("demo complete: every step did what it should")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("zorgpoort demo: FAILED: {error:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// An HTTP answer: status, lower-cased head, body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .map(str::trim)
    }

    /// The answer if its status is `expected`, else an error quoting it.
    fn expect(self, expected: u16, what: &str) -> Result<Self> {
        if self.status == expected {
            Ok(self)
        } else {
            let detail = self.json()["issue"][0]["diagnostics"]
                .as_str()
                .map_or_else(|| self.body.chars().take(300).collect(), str::to_owned);
            bail!("{what}: expected HTTP {expected}, got {}: {detail}", self.status)
        }
    }
}

/// The timeline and the clients that make it.
struct Tour {
    http: SocketAddr,
    mllp: SocketAddr,
    store: SqliteStore,
    started: Instant,
    color: bool,
    /// The last audit sequence number already shown.
    audited: i64,
}

/// What a task needs to tell a handover apart.
struct Handover {
    id: String,
    path: String,
}

impl Tour {
    fn new(http: SocketAddr, mllp: SocketAddr, store: SqliteStore) -> Self {
        Self {
            http,
            mllp,
            store,
            started: Instant::now(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            audited: 0,
        }
    }

    /// One line of the timeline: time since the start, who, what.
    fn say(&self, actor: &str, what: &str) {
        let at = self.started.elapsed().as_secs_f64();
        // The timeline is shown, not kept: no write error stops the tour,
        // whose steps are checks as well.
        let _ = if self.color {
            outln!("\x1b[2m{at:>7.3}s\x1b[0m  \x1b[1;36m{actor:<12}\x1b[0m {what}")
        } else {
            outln!("{at:>7.3}s  {actor:<12} {what}")
        };
    }

    fn heading(&self, text: &str) {
        let _ = if self.color {
            outln!("\n\x1b[1m== {text}\x1b[0m")
        } else {
            outln!("\n== {text}")
        };
    }

    async fn run(&mut self) -> Result<()> {
        self.audit_baseline().await?;
        self.heading("1. What arrives, and what it becomes");
        let messages = self.arrivals().await.context("step 1 (messages in)")?;
        self.show_audit("step 1", true).await?;
        self.heading("2. Consent and deliveries");
        self.deliveries(&messages)
            .await
            .context("step 2 (consent and deliveries)")?;
        self.show_audit("step 2", false).await?;
        self.heading("3. Handover to Zorgcentrum De Linde (FHIR R4)");
        self.handover_r4(&messages.letter)
            .await
            .context("step 3 (handover, R4)")?;
        self.show_audit("step 3", true).await?;
        self.heading("4. Handover to Verpleeghuis De Es (FHIR STU3)");
        self.handover_stu3(&messages.letter)
            .await
            .context("step 4 (handover, STU3)")?;
        self.show_audit("step 4", true).await?;
        self.heading("5. The BgZ for the nursing home, after the patient's choice");
        self.bgz().await.context("step 5 (BgZ retrieval)")?;
        self.show_audit("step 5", true).await?;
        self.heading("6. The audit log");
        self.verify().await.context("step 6 (audit chain)")?;
        Ok(())
    }

    // --- the steps ---------------------------------------------------------

    async fn arrivals(&self) -> Result<Messages> {
        // The discharge over MLLP, as a hospital information system sends it.
        let ack = self.mllp_send(DISCHARGE.as_bytes()).await?;
        let code = ack
            .split('\r')
            .find_map(|s| s.strip_prefix("MSA|"))
            .and_then(|s| s.split('|').next())
            .unwrap_or("(none)")
            .to_owned();
        ensure!(code == "AA", "the discharge was not accepted: ACK {code}");
        let discharge = self.accepted_message("hl7v2").await?;
        self.say(
            "oudegracht",
            &format!("MLLP  HL7 v2 ADT^A03 (discharge) from HIS/OUDEGRACHT -> ACK AA, message {discharge}"),
        );
        self.show_conversion("hl7v2", "x-application/hl7-v2+er7", DISCHARGE.as_bytes())
            .await?;

        let letter = self
            .post("oudegracht", "/messages/cda", "application/xml", TRANSFER_LETTER)
            .await?
            .expect(202, "the transfer letter")?;
        let letter = message_id(&letter)?;
        self.say(
            "oudegracht",
            &format!("HTTP  CDA nursing transfer letter (custodian URA 00005678) -> 202, message {letter}"),
        );
        self.show_conversion("cda", "application/xml", TRANSFER_LETTER).await?;

        let lab = self
            .post(
                "de-vaart",
                "/messages/edifact",
                "application/edifact",
                LAB_RESULT.as_bytes(),
            )
            .await?
            .expect(202, "the lab result")?;
        let lab = message_id(&lab)?;
        self.say(
            "de-vaart",
            &format!("HTTP  EDIFACT MEDLAB (lab result) from AGB 01234567 -> 202, message {lab}"),
        );
        self.show_conversion("edifact", "application/edifact", LAB_RESULT.as_bytes())
            .await?;
        Ok(Messages { discharge, letter, lab })
    }

    /// What a message became: the gateway's own conversion of it.
    async fn show_conversion(&self, format: &str, media_type: &str, body: &[u8]) -> Result<()> {
        let answer = self
            .post("", &format!("/convert/{format}"), media_type, body)
            .await?
            .expect(200, "the conversion")?;
        let warnings = answer.header("x-zorgpoort-warnings").unwrap_or("0").to_owned();
        let bundle = answer.json();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let kind = entry["resource"]["resourceType"].as_str().unwrap_or("?");
            *counts.entry(kind.to_owned()).or_default() += 1;
        }
        ensure!(!counts.is_empty(), "the {format} message became an empty Bundle");
        let counts = counts
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.say(
            "zorgpoort",
            &format!(
                "  became a FHIR R4 {} Bundle: {counts}; {warnings} mapping warning(s)",
                bundle["type"].as_str().unwrap_or("?")
            ),
        );
        Ok(())
    }

    async fn deliveries(&self, messages: &Messages) -> Result<()> {
        let expected = [
            (&messages.discharge, "ADT^A03", &["de-linde", "de-es"][..]),
            (&messages.letter, "CDA letter", &[][..]),
            (&messages.lab, "MEDLAB", &["de-linde"][..]),
        ];
        for (id, what, receivers) in expected {
            let status = self.wait_delivered(id).await?;
            let mut found: Vec<&str> = status["deliveries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["receiver"].as_str())
                .collect();
            found.sort_unstable();
            let mut wanted = receivers.to_vec();
            wanted.sort_unstable();
            ensure!(found == wanted, "{what} was routed to {found:?}, not {wanted:?}");
            if receivers.is_empty() {
                self.say(
                    "zorgpoort",
                    &format!("{what}: no routing rule sends it; it waits to be handed over by a Task"),
                );
            }
            for delivery in status["deliveries"].as_array().into_iter().flatten() {
                let receiver = delivery["receiver"].as_str().unwrap_or("?");
                let (rule, sequence) = self.consent_rule(id, receiver).await?;
                let version = if delivery["endpoint"].as_str().unwrap_or_default().starts_with("mllp") {
                    "HL7 v2"
                } else if receiver == "de-es" {
                    "FHIR STU3"
                } else {
                    "FHIR R4"
                };
                let state = delivery["state"].as_str().unwrap_or("?");
                ensure!(state == "delivered", "{what} to {receiver}: {state}");
                self.say(
                    "zorgpoort",
                    &format!(
                        "{what} -> {receiver}: consent permits (rule {rule}); delivered as {version} (audit #{sequence})"
                    ),
                );
            }
        }
        for org in ["de-linde", "de-es"] {
            let inbox = self.inbox(org).await?;
            let bundles: Vec<String> = inbox
                .iter()
                .filter(|r| r["resourceType"] == "Bundle")
                .map(|r| {
                    format!(
                        "{} ({})",
                        r["summary"].as_str().unwrap_or("?"),
                        r["fhirVersion"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            ensure!(!bundles.is_empty(), "{org} received nothing");
            if org == "de-es" {
                ensure!(
                    inbox.iter().all(|r| r["fhirVersion"] == "STU3"),
                    "de-es was sent R4: {inbox:?}"
                );
            }
            self.say(org, &format!("received {}", bundles.join("; ")));
        }
        Ok(())
    }

    async fn handover_r4(&self, letter: &str) -> Result<()> {
        let handover = self.ask_handover(letter, "de-linde").await?;
        self.wait_notified(&handover, "de-linde", "R4").await?;
        let task = self
            .call("de-linde", "GET", &handover.path, None)
            .await?
            .expect(200, "the nursing home reads the Task")?
            .json();
        self.say(
            "de-linde",
            &format!(
                "GET Task/{}: status {}, for BSN {BSN}",
                handover.id,
                task["status"].as_str().unwrap_or("?")
            ),
        );
        let document = self
            .call("de-linde", "GET", &composition_path(&task)?, None)
            .await?
            .expect(200, "the nursing home reads the document")?
            .json();
        ensure!(document["type"] == "document", "$document is not a document Bundle");
        self.say(
            "de-linde",
            &format!(
                "GET Composition/$document: \"{}\", {} resources",
                document
                    .pointer("/entry/0/resource/title")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                document["entry"].as_array().map_or(0, Vec::len)
            ),
        );
        for status in ["accepted", "completed"] {
            self.set_status("de-linde", &handover, status, false).await?;
            self.sender_sees(&handover, status).await?;
        }
        Ok(())
    }

    async fn handover_stu3(&self, letter: &str) -> Result<()> {
        let handover = self.ask_handover(letter, "de-es").await?;
        self.wait_notified(&handover, "de-es", "STU3").await?;
        let answer = self
            .call("de-es", "GET", &handover.path, None)
            .await?
            .expect(200, "the STU3 nursing home reads the Task")?;
        let content_type = answer.header("content-type").unwrap_or_default().to_owned();
        ensure!(
            content_type.contains("fhirVersion=3.0"),
            "the Task was not answered in STU3 ({content_type})"
        );
        let task = answer.json();
        ensure!(
            task["requester"]["agent"].is_object(),
            "the Task has no STU3 requester.agent"
        );
        self.say(
            "de-es",
            &format!(
                "GET Task/{}: answered in STU3 ({content_type}), status {}",
                handover.id,
                task["status"].as_str().unwrap_or("?")
            ),
        );
        let document = self
            .call("de-es", "GET", &composition_path(&task)?, None)
            .await?
            .expect(200, "the STU3 nursing home reads the document")?;
        ensure!(
            document
                .header("content-type")
                .unwrap_or_default()
                .contains("fhirVersion=3.0"),
            "the document was not answered in STU3"
        );
        self.say(
            "de-es",
            &format!(
                "GET Composition/$document: answered in STU3, {} resources",
                document.json()["entry"].as_array().map_or(0, Vec::len)
            ),
        );
        self.set_status("de-es", &handover, "accepted", true).await?;
        self.sender_sees(&handover, "accepted").await?;
        Ok(())
    }

    async fn bgz(&self) -> Result<()> {
        let consent = json!({
            "resourceType": "Consent", "id": "geen-ggz", "status": "active",
            "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
            "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
            "patient": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN } },
            "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT" }] },
            "provision": { "type": "deny",
                "class": [{ "system": "https://zorgpoort.nl/fhir/CodeSystem/data-category", "code": "mental-health" }] }
        });
        self.call("de-vaart", "POST", "/fhir/Consent", Some(&consent))
            .await?
            .expect(201, "recording the patient's Consent")?;
        self.say(
            "patient",
            "Consent geen-ggz recorded: withhold mental-health data from everyone",
        );
        let batch = zorgpoort_handover::bgz::batch(BSN);
        let answer = self
            .request(
                "POST",
                "/fhir",
                &[
                    ("Content-Type", "application/fhir+json"),
                    ("X-Zorgpoort-Requester", "de-linde"),
                    ("X-Purpose-Of-Use", "handover"),
                ],
                batch.to_string().as_bytes(),
            )
            .await?
            .expect(200, "the BgZ batch")?
            .json();
        self.say(
            "de-linde",
            &format!("POST /fhir: the BgZ batch of {} searches for BSN {BSN}", QUERIES.len()),
        );
        let mut withheld_seen = false;
        let mut found = Vec::new();
        for (i, (section, _)) in QUERIES.iter().enumerate() {
            let entry = &answer["entry"][i];
            let status = entry["response"]["status"].as_str().unwrap_or("?");
            ensure!(status.starts_with("200"), "BgZ section {section}: {status}");
            let searchset = &entry["resource"];
            let count = searchset["entry"].as_array().map_or(0, Vec::len);
            let withheld: Vec<&str> = searchset["meta"]["tag"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["code"].as_str())
                .collect();
            if !withheld.is_empty() {
                withheld_seen = true;
                self.say(
                    "zorgpoort",
                    &format!(
                        "  {section}: {count} resource(s); withheld by consent: {}",
                        withheld.join(", ")
                    ),
                );
            } else if count > 0 {
                found.push(format!("{section} {count}"));
            }
        }
        ensure!(!found.is_empty(), "the BgZ returned nothing");
        self.say("zorgpoort", &format!("  other sections: {}", found.join(", ")));
        ensure!(withheld_seen, "no BgZ section withheld the mental-health data");
        let problems = &answer["entry"][QUERIES.iter().position(|(s, _)| *s == "problems").unwrap_or(0)]["resource"];
        let codes: Vec<&str> = problems["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.pointer("/resource/code/coding/0/code").and_then(Value::as_str))
            .collect();
        ensure!(
            !codes.contains(&"F32.1"),
            "the withheld depression (F32.1) was returned"
        );
        self.say(
            "de-linde",
            &format!(
                "problems received: {} (the depression F32.1 is not among them)",
                codes.join(", ")
            ),
        );
        Ok(())
    }

    async fn verify(&mut self) -> Result<()> {
        let count = self
            .store
            .verify_audit()
            .await
            .context("reading the audit log")?
            .map_err(|broken| anyhow!("audit log NOT intact: {broken}"))?;
        self.say(
            "audit",
            &format!(
                "audit verify: hash chain intact, {count} records (#1-#{})",
                self.audited
            ),
        );
        Ok(())
    }

    // --- handover helpers -----------------------------------------------------

    async fn ask_handover(&self, letter: &str, owner: &str) -> Result<Handover> {
        let task = json!({
            "resourceType": "Task",
            "status": "requested",
            "intent": "proposal",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "308292007" }] },
            "for": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN } },
            "requester": { "reference": "Organization/oudegracht" },
            "owner": { "reference": format!("Organization/{owner}") },
            "focus": { "reference": format!("Bundle/{letter}") }
        });
        let created = self
            .call("oudegracht", "POST", "/fhir/Task", Some(&task))
            .await?
            .expect(201, "creating the Task")?
            .json();
        let status = created["status"].as_str().unwrap_or("?");
        ensure!(status == "requested", "the new Task is {status}");
        let id = created["id"].as_str().context("the created Task has no id")?.to_owned();
        self.say(
            "oudegracht",
            &format!(
                "POST Task (transfer of care, SNOMED 308292007) for the letter, owner {owner} -> Task/{id}: requested"
            ),
        );
        Ok(Handover {
            path: format!("/fhir/Task/{id}"),
            id,
        })
    }

    /// Waits for the notification at the receiver's inbox and for the
    /// gateway to have recorded it (the Task's second version).
    async fn wait_notified(&self, handover: &Handover, org: &str, version: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        let notification = loop {
            let inbox = self.inbox(org).await?;
            if let Some(found) = inbox.into_iter().find(|r| {
                r["resourceType"] == "Task"
                    && r["summary"]
                        .as_str()
                        .is_some_and(|s| s.ends_with(&format!("/Task/{}", handover.id)))
            }) {
                break found;
            }
            ensure!(
                Instant::now() < deadline,
                "{org} was not notified within {} s",
                WAIT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let got = notification["fhirVersion"].as_str().unwrap_or("?");
        ensure!(got == version, "{org} was notified in {got}, not {version}");
        self.say(
            org,
            &format!(
                "notified at its FHIR endpoint /Task in {got}: {} (no patient data)",
                notification["summary"].as_str().unwrap_or("?")
            ),
        );
        loop {
            let task = self.call("oudegracht", "GET", &handover.path, None).await?.json();
            if task["meta"]["versionId"].as_str().and_then(|v| v.parse::<u32>().ok()) >= Some(2) {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the notification was not recorded in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn set_status(&self, org: &str, handover: &Handover, status: &str, stu3: bool) -> Result<()> {
        let mut body = json!({ "resourceType": "Task", "id": handover.id, "status": status });
        let content_type = if stu3 {
            body["intent"] = json!("proposal");
            zorgpoort_handover::delivery::STU3_JSON
        } else {
            "application/fhir+json"
        };
        let answer = self
            .request(
                "PUT",
                &handover.path,
                &[("Content-Type", content_type), ("X-Zorgpoort-Requester", org)],
                body.to_string().as_bytes(),
            )
            .await?
            .expect(200, &format!("{org} sets the Task {status}"))?;
        let now = answer.json()["status"].as_str().unwrap_or("?").to_owned();
        ensure!(now == status, "the Task is {now} after {org} set it {status}");
        let version = if stu3 { " (body in STU3)" } else { "" };
        self.say(org, &format!("PUT Task/{}: {status}{version}", handover.id));
        Ok(())
    }

    async fn sender_sees(&self, handover: &Handover, status: &str) -> Result<()> {
        let task = self
            .call("oudegracht", "GET", &handover.path, None)
            .await?
            .expect(200, "the hospital reads its Task")?
            .json();
        let seen = task["status"].as_str().unwrap_or("?");
        ensure!(seen == status, "the hospital sees {seen}, not {status}");
        self.say(
            "oudegracht",
            &format!(
                "GET Task/{}: sees {seen} (R4, version {})",
                handover.id,
                task["meta"]["versionId"].as_str().unwrap_or("?")
            ),
        );
        Ok(())
    }

    // --- gateway state ----------------------------------------------------------

    /// The id of the message the last `accept` audit record of `format` names.
    async fn accepted_message(&self, format: &str) -> Result<String> {
        let records = self.store.audit_log(i64::MIN, i64::MAX, None).await?;
        records
            .iter()
            .rev()
            .filter_map(|r| serde_json::from_str::<Value>(&r.event).ok())
            .find(|event| {
                event["subtype"][0]["code"] == "accept" && data_detail(event, "format").as_deref() == Some(format)
            })
            .and_then(|event| {
                event["entity"]
                    .as_array()?
                    .iter()
                    .find(|e| e["detail"].is_array())?
                    .pointer("/what/identifier/value")?
                    .as_str()
                    .map(str::to_owned)
            })
            .context("no audit record of the accepted message")
    }

    /// The message's state once every delivery is final.
    async fn wait_delivered(&self, id: &str) -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let status = self
                .request("GET", &format!("/messages/{id}"), &[], b"")
                .await?
                .expect(200, "the message status")?
                .json();
            let open = status["deliveries"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["state"] == "pending");
            if !open {
                return Ok(status);
            }
            ensure!(
                Instant::now() < deadline,
                "message {id} not delivered within {} s: {status}",
                WAIT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The consent rule the delivery of `message` to `receiver` cited, and
    /// the sequence number of its audit record.
    async fn consent_rule(&self, message: &str, receiver: &str) -> Result<(String, i64)> {
        let records = self.store.audit_log(i64::MIN, i64::MAX, None).await?;
        records
            .iter()
            .filter_map(|r| Some((serde_json::from_str::<Value>(&r.event).ok()?, r.sequence)))
            .filter(|(event, _)| {
                matches!(event["subtype"][0]["code"].as_str(), Some("deliver" | "withheld"))
                    && event["agent"][0]["who"]["identifier"]["value"] == receiver
                    && event["entity"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| e.pointer("/what/identifier/value").and_then(Value::as_str) == Some(message))
            })
            .find_map(|(event, sequence)| {
                event["entity"]
                    .as_array()?
                    .iter()
                    .filter_map(|e| e.pointer("/what/display").and_then(Value::as_str))
                    .find_map(|d| d.strip_prefix("consent rule "))
                    .map(|rule| (rule.to_owned(), sequence))
            })
            .context(format!("no audited consent decision for {receiver}"))
    }

    async fn inbox(&self, org: &str) -> Result<Vec<Value>> {
        let answer = self
            .request("GET", &format!("/demo/inbox/{org}"), &[], b"")
            .await?
            .expect(200, "the demo inbox")?
            .json();
        Ok(answer["received"].as_array().cloned().unwrap_or_default())
    }

    async fn audit_baseline(&mut self) -> Result<()> {
        let records = self.store.audit_log(i64::MIN, i64::MAX, None).await?;
        self.audited = records.last().map_or(0, |r| r.sequence);
        Ok(())
    }

    /// The audit records written since the last call, by sequence number.
    /// Deliveries run in the background, so a step may find its records
    /// already shown: only a step that records on its own `must_record`.
    async fn show_audit(&mut self, step: &str, must_record: bool) -> Result<()> {
        let records: Vec<AuditRecord> = self
            .store
            .audit_log(i64::MIN, i64::MAX, None)
            .await?
            .into_iter()
            .filter(|r| r.sequence > self.audited)
            .collect();
        if records.is_empty() {
            ensure!(!must_record, "{step} left no audit record");
            self.say("audit", &format!("{step}: no further records"));
            return Ok(());
        }
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for record in &records {
            let event: Value = serde_json::from_str(&record.event).unwrap_or(Value::Null);
            let kind = event["subtype"][0]["code"].as_str().unwrap_or("?").to_owned();
            *kinds.entry(kind).or_default() += 1;
        }
        let first = records.first().map_or(0, |r| r.sequence);
        let last = records.last().map_or(0, |r| r.sequence);
        let mut what = String::new();
        for (kind, n) in &kinds {
            let _ = write!(what, "{}{kind} x{n}", if what.is_empty() { "" } else { ", " });
        }
        self.say(
            "audit",
            &format!(
                "{step}: records #{first}-#{last} ({} AuditEvents: {what})",
                records.len()
            ),
        );
        self.audited = last;
        Ok(())
    }

    // --- clients ------------------------------------------------------------------

    async fn mllp_send(&self, message: &[u8]) -> Result<String> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.mllp).await?;
            let mut frame = vec![0x0b];
            frame.extend_from_slice(message);
            frame.extend_from_slice(b"\x1c\r");
            stream.write_all(&frame).await?;
            let mut reply = Vec::new();
            let mut chunk = [0; 4096];
            while !reply.ends_with(b"\x1c\r") {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                }
                reply.extend_from_slice(&chunk[..n]);
                if reply.len() > 1 << 20 {
                    return Err(std::io::Error::other("ACK larger than 1 MiB"));
                }
            }
            Ok(String::from_utf8_lossy(&reply).into_owned())
        };
        tokio::time::timeout(CALL, exchange)
            .await
            .map_err(|_| anyhow!("no ACK from MLLP {} within {} s", self.mllp, CALL.as_secs()))?
            .with_context(|| format!("MLLP {}", self.mllp))
    }

    /// A FHIR call as organisation `org` (none when empty).
    async fn call(&self, org: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Answer> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut headers = vec![("Content-Type", "application/fhir+json")];
        if !org.is_empty() {
            headers.push(("X-Zorgpoort-Requester", org));
        }
        self.request(method, path, &headers, body.as_bytes()).await
    }

    async fn post(&self, org: &str, path: &str, content_type: &str, body: &[u8]) -> Result<Answer> {
        let mut headers = vec![("Content-Type", content_type)];
        if !org.is_empty() {
            headers.push(("X-Zorgpoort-Requester", org));
        }
        self.request("POST", path, &headers, body).await
    }

    /// One HTTP/1.1 exchange on its own connection, within [`CALL`].
    async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Answer> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.http).await?;
            let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.http);
            for (name, value) in headers {
                let _ = write!(head, "{name}: {value}\r\n");
            }
            let _ = write!(head, "Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(CALL, exchange)
            .await
            .map_err(|_| anyhow!("{method} {path}: no answer within {} s", CALL.as_secs()))?
            .with_context(|| format!("{method} {path}"))?;
        parse_response(&response).with_context(|| format!("{method} {path}"))
    }
}

/// The messages of the tour, by their gateway ids.
struct Messages {
    discharge: String,
    letter: String,
    lab: String,
}

/// The message id in an accepted message's `Location: /messages/{id}`.
fn message_id(answer: &Answer) -> Result<String> {
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/messages/"))
        .map(str::to_owned)
        .context("no Location of the accepted message")
}

/// A detail (`format`, `sha256`, ...) of an AuditEvent's data entity.
fn data_detail(event: &Value, kind: &str) -> Option<String> {
    event["entity"]
        .as_array()?
        .iter()
        .flat_map(|e| e["detail"].as_array().into_iter().flatten())
        .find(|d| d["type"] == kind)
        .and_then(|d| d["valueString"].as_str())
        .map(str::to_owned)
}

/// `/fhir/Composition/{id}/$document` of a Task's Composition input.
fn composition_path(task: &Value) -> Result<String> {
    let reference = task
        .pointer("/input/0/valueReference/reference")
        .and_then(Value::as_str)
        .context("the Task names no Composition")?;
    Ok(format!("/fhir/{reference}/$document"))
}

/// Status, head (lower-cased names) and body of an HTTP/1.1 response;
/// a chunked body is joined.
fn parse_response(response: &[u8]) -> Result<Answer> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let raw = &response[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the answer has no status")?;
    let head: String = head
        .lines()
        .map(|line| match line.split_once(':') {
            Some((name, value)) => format!("{}:{value}\n", name.to_ascii_lowercase()),
            None => format!("{line}\n"),
        })
        .collect();
    let chunked = head.lines().any(|l| {
        l.strip_prefix("transfer-encoding:")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"))
    });
    let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
    Ok(Answer {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk without its size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .context("a chunk size that is not hexadecimal")?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        ensure!(raw.len() >= size, "a chunk cut off");
        body.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_answers() {
        let plain = parse_response(b"HTTP/1.1 202 Accepted\r\nLocation: /messages/x\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.header("location")), (202, Some("/messages/x")));
        let chunked =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!(chunked.body, "abcde");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab").is_err());
    }

    #[test]
    fn the_region_loads() {
        let config = Config::load(Some(REGION), std::iter::empty()).unwrap();
        assert_eq!(config.organizations.len(), 4);
        assert_eq!(config.server.http.port(), 0);
        assert!(config.organizations[3].endpoints[0].address.contains("{http}"));
    }
}

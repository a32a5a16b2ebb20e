//! Email across node deaths: the node that sent a notification's mail is killed (kill -9)
//! after the mail server took it and before the job was deleted; its reservation runs out,
//! another node takes the job, finds the mail recorded as sent, and finishes it without
//! sending again. The mail server (aiosmtpd) holds exactly one mail.

use serde_json::{json, Value};

use crate::harness::{eventually, Cluster};
use crate::servers::SmtpServer;

/// The environment of a node that mails through `smtp` with a short time-to-run.
fn mailing(smtp: &SmtpServer) -> Vec<(&'static str, String)> {
    vec![
        ("ROOKERY_SMTP_URL", smtp.url()),
        ("ROOKERY_MAIL_FROM", "rookery <noreply@example.org>".into()),
        ("ROOKERY_JOB_TTR_MS", "1000".into()),
        ("ROOKERY_JOB_BACKOFF_MS", "20".into()),
    ]
}

#[tokio::test]
async fn a_node_killed_between_sending_a_mail_and_deleting_its_job_sends_it_once() {
    let cluster = Cluster::start();
    let smtp = SmtpServer::start();
    let mut paused = mailing(&smtp);
    paused.push(("ROOKERY_FAILPOINTS", "email.sent=pause".into()));
    let mut n1 = cluster.node_with("n1", &paused).await;
    let admin = n1.register("admin").await;
    let register =
        json!({"username": "grace", "password": "correct horse", "email": "grace@example.org"});
    let (status, _) =
        crate::helpers::http_post(&n1.endpoint, "/api/auth/register", &register).await;
    assert_eq!(status, 200);
    let mute = json!({"reason": "flooding", "durationMs": 600_000});
    let (status, body) = n1
        .call("POST", "/api/admin/users/grace/mute", &admin.token, mute)
        .await;
    assert_eq!(status, 200, "{body}");

    // n1 sent it, recorded it, and stopped before deleting the job (the failpoint).
    eventually("the mail arrives", || async {
        smtp.received().into_iter().next()
    })
    .await;
    eventually("n1 paused after sending", || async {
        n1.log_text()
            .contains("failpoint email.sent=pause")
            .then_some(())
    })
    .await;
    n1.kill9();

    let n2 = cluster.node_with("n2", &mailing(&smtp)).await;
    eventually(
        "n2 finishes the job once n1's reservation ran out",
        || async {
            let (_, body) = n2
                .call(
                    "GET",
                    "/api/admin/jobs?tube=email",
                    &admin.token,
                    Value::Null,
                )
                .await;
            let tubes = body["tubes"].as_array()?;
            let counts = tubes.iter().find(|t| t["tube"] == "email")?;
            let empty = ["ready", "delayed", "reserved", "buried"]
                .iter()
                .all(|s| counts[*s] == 0);
            empty.then_some(())
        },
    )
    .await;
    assert!(
        n2.log_text().contains("email sent already"),
        "n2 took the job and did not send: {}",
        n2.log_text()
    );
    assert_eq!(
        smtp.received().len(),
        1,
        "one mail, though two nodes ran its job"
    );
}

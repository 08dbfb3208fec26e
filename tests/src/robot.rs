//! A webhook receiver for the reminder tests: a group robot's stand-in (企业微信, 钉钉) on
//! 127.0.0.1 that records each message and can fail or hang the first requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

/// What the robot did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Acknowledged.
    Ok,
    /// Refused (500, or a robot's non-zero `errcode`).
    Failed,
    /// Held for a minute.
    Hung,
}

/// The webhook receiver: answers the first `fail` requests 500 (every other one of them with
/// a robot's 200 and a non-zero `errcode` instead), hangs on the first `hang` ones, then
/// acknowledges like 企业微信's robot.
#[derive(Default)]
pub struct Robot {
    fail: usize,
    hang: usize,
    /// Requests received.
    pub seen: AtomicUsize,
    log: Mutex<Vec<(String, Answer)>>,
}

impl Robot {
    /// Starts a robot on a free loopback port: it and the URL to post to.
    ///
    /// # Errors
    /// No port could be bound.
    pub async fn start(fail: usize, hang: usize) -> anyhow::Result<(Arc<Robot>, String)> {
        let robot = Arc::new(Robot {
            fail,
            hang,
            ..Robot::default()
        });
        let app = Router::new()
            .route("/robot/send", post(receive))
            .with_state(robot.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/robot/send?key=test", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((robot, url))
    }

    /// The messages acknowledged, in order.
    pub fn acknowledged(&self) -> Vec<String> {
        self.answered(Answer::Ok)
    }

    /// The messages answered `answer`, in order.
    pub fn answered(&self, answer: Answer) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .filter(|(_, a)| *a == answer)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Waits until `n` messages were acknowledged (at most 30 s).
    ///
    /// # Errors
    /// Fewer arrived in time.
    pub async fn wait_for(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let got = self.acknowledged();
            if got.len() >= n {
                return Ok(got);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!(
            "{n} messages expected, {} acknowledged: {:#?}",
            self.acknowledged().len(),
            self.log.lock().unwrap_or_else(|p| p.into_inner())
        )
    }
}

async fn receive(State(robot): State<Arc<Robot>>, body: String) -> (StatusCode, String) {
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(json["msgtype"], "text", "the group robots' body: {body}");
    let text = json["text"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let n = robot.seen.fetch_add(1, Ordering::SeqCst);
    let record = |a: Answer| {
        let mut log = robot.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push((text.clone(), a));
    };
    if n < robot.hang {
        record(Answer::Hung);
        tokio::time::sleep(Duration::from_secs(60)).await;
        return (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.into());
    }
    if n < robot.hang + robot.fail {
        record(Answer::Failed);
        return if n % 2 == 0 {
            (StatusCode::INTERNAL_SERVER_ERROR, "busy".into())
        } else {
            (
                StatusCode::OK,
                r#"{"errcode":93000,"errmsg":"invalid"}"#.into(),
            )
        };
    }
    record(Answer::Ok);
    (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.into())
}

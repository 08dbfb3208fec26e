//! Channels a reminder is sent through, behind one small trait: [`LogChannel`] (the default)
//! and [`WebhookChannel`], whose body fits 企业微信 and 钉钉 group robots. In-app reminders are
//! not sent: they wait in the outbox for `GET /api/notifications`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One message to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The person's user id.
    pub recipient: String,
    /// The text (Chinese), a single reminder's or a digest's.
    pub text: String,
}

/// Why a send failed; recorded as the reminders' `last_error`, and retried.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No answer within the time limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The request failed (connection refused, reset, …).
    #[error("request failed: {0}")]
    Request(String),
    /// The receiver answered, but not with success.
    #[error("receiver answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
}

/// A boxed send in flight.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Where messages go. `send` resolves `Ok` only once the receiver acknowledged the message.
pub trait Channel: Send + Sync {
    /// Sends one message.
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a>;
}

/// Writes each message to the server's log (target `lianxin::reminder`).
#[derive(Debug, Default)]
pub struct LogChannel;

impl Channel for LogChannel {
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            tracing::info!(target: "lianxin::reminder", recipient = %message.recipient, "{}", message.text);
            Ok(())
        })
    }
}

/// POSTs `{"msgtype":"text","text":{"content":"…"}}` to a URL, as 企业微信 and 钉钉 group
/// robots take it. Acknowledged: a 2xx answer whose JSON body, if it has an `errcode`, says 0
/// (both robots answer 200 with a non-zero `errcode` when they refuse a message).
#[derive(Debug)]
pub struct WebhookChannel {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

impl WebhookChannel {
    /// A channel posting to `url`, each attempt limited to `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<WebhookChannel, SendError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| SendError::Request(e.to_string()))?;
        Ok(WebhookChannel {
            client,
            url: url.to_string(),
            timeout,
        })
    }

    /// The body a group robot takes.
    pub fn body(text: &str) -> String {
        serde_json::json!({"msgtype": "text", "text": {"content": text}}).to_string()
    }

    async fn post(&self, text: &str) -> Result<(), SendError> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(Self::body(text))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SendError::Timeout(self.timeout)
                } else {
                    SendError::Request(e.to_string())
                }
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let errcode = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("errcode").and_then(serde_json::Value::as_i64));
        if status.is_success() && errcode.is_none_or(|c| c == 0) {
            Ok(())
        } else {
            Err(SendError::Refused {
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            })
        }
    }
}

impl Channel for WebhookChannel {
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a> {
        // The client's own timeout covers the body too; this one bounds everything else.
        let limit = self.timeout + Duration::from_secs(1);
        Box::pin(async move {
            tokio::time::timeout(limit, self.post(&message.text))
                .await
                .unwrap_or(Err(SendError::Timeout(self.timeout)))
        })
    }
}

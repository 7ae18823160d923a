//! The delivery worker: claims due deliveries from the outbox, POSTs them
//! signed, and records every attempt.
//!
//! A claim is committed before the HTTP call (attempts + 1, and the next
//! attempt pushed a lease ahead), so no transaction or row lock is held
//! while a receiver is slow, and several workers (in one process or many)
//! never send the same delivery at once. A worker that dies mid-attempt
//! leaves the delivery to be retried when the lease runs out: delivery is
//! at least once, and the stable `Nova-Webhook-Id` lets receivers drop
//! repeats.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::types::PgInterval;
use uuid::Uuid;

use super::destination::{CheckedResolver, Refused, check_host, refusal_in};
use super::signing::signature;
use crate::metrics::WebhookOutcome;

/// Delays between the attempts of one delivery: after the n-th failed
/// attempt the next comes `delays[n - 1]` later (± `jitter`, a fraction,
/// so receivers coming back up are not hit by every retry at once). After
/// `delays.len() + 1` attempts the delivery has failed.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
    pub jitter: f64,
}

impl Default for RetrySchedule {
    /// Ten attempts over about 23 hours: 10 s, 30 s, 2 min, 10 min, 30 min,
    /// 1 h, 3 h, 6 h and 12 h apart.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        Self {
            delays: vec![
                Duration::from_secs(10),
                Duration::from_secs(30),
                minutes(2),
                minutes(10),
                minutes(30),
                minutes(60),
                minutes(3 * 60),
                minutes(6 * 60),
                minutes(12 * 60),
            ],
            jitter: 0.2,
        }
    }
}

impl RetrySchedule {
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The wait after `attempts` failed attempts, or None: give up.
    fn delay_after(&self, attempts: usize) -> Option<Duration> {
        let base = *self.delays.get(attempts.checked_sub(1)?)?;
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return Some(base);
        }
        let factor = rand::rng().random_range(1.0 - jitter..=1.0 + jitter);
        Some(base.mul_f64(factor))
    }
}

#[derive(Clone, Debug)]
pub struct WebhookDeliveryConfig {
    pub schedule: RetrySchedule,
    /// For a whole attempt: connecting, sending, and the answer.
    pub timeout: Duration,
    /// Deliveries claimed, and attempted concurrently, at a time.
    pub batch: u32,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval: Duration,
    /// Deliver to loopback, private, link-local and unique-local addresses
    /// too: for a receiver on the developer's machine or network. Metadata
    /// services stay refused.
    pub allow_private: bool,
}

impl Default for WebhookDeliveryConfig {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(10),
            batch: 16,
            poll_interval: Duration::from_secs(1),
            allow_private: false,
        }
    }
}

/// Sends webhook deliveries; one per worker, reusing its connections.
pub struct WebhookSender {
    client: reqwest::Client,
    config: WebhookDeliveryConfig,
}

/// A delivery claimed for one attempt.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    attempts: i32,
    payload: Value,
    url: String,
    secret: String,
}

/// How an attempt went.
struct Outcome {
    delivered: bool,
    /// The destination may not be reached: no retry will change that.
    refused: bool,
    response_status: Option<i32>,
    error: Option<String>,
}

impl Outcome {
    fn refused(refused: Refused) -> Self {
        Self {
            delivered: false,
            refused: true,
            response_status: None,
            error: Some(refused.to_string()),
        }
    }
}

impl WebhookSender {
    /// Fails only if the TLS stack cannot be set up.
    pub fn new(config: WebhookDeliveryConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            // A redirect is an answer like any other non-2xx: following it
            // would send the signed body somewhere the owner did not name.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would make the connection on our behalf, to wherever
            // the name leads it: only the checked addresses are dialled.
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: config.allow_private,
            }))
            .user_agent(concat!("nova-live-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, config })
    }

    pub fn config(&self) -> &WebhookDeliveryConfig {
        &self.config
    }

    /// Claims up to a batch of due deliveries and attempts them all at once.
    /// Returns how many were attempted; a full batch means more may be due.
    pub async fn deliver_due(&self, pool: &PgPool) -> Result<usize, sqlx::Error> {
        let claimed = self.claim(pool).await?;
        let count = claimed.len();
        let results = join_all(claimed.into_iter().map(|delivery| async move {
            let outcome = self.attempt(&delivery).await;
            self.record(pool, &delivery, outcome).await
        }))
        .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    async fn claim(&self, pool: &PgPool) -> Result<Vec<Claimed>, sqlx::Error> {
        // Long enough for any attempt to finish and be recorded.
        let lease = interval(self.config.timeout * 2 + Duration::from_secs(30));
        sqlx::query_as::<_, Claimed>(
            "WITH due AS ( \
                 SELECT id FROM webhook_deliveries \
                 WHERE status = 'pending' AND next_attempt_at <= now() \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries d \
             SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + $2 \
             FROM due, webhook_endpoints e \
             WHERE d.id = due.id AND e.id = d.endpoint_id \
             RETURNING d.id, d.attempts, d.payload, e.url, e.secret",
        )
        .bind(i64::from(self.config.batch.max(1)))
        .bind(lease)
        .fetch_all(pool)
        .await
    }

    async fn attempt(&self, delivery: &Claimed) -> Outcome {
        // IP literals never reach the resolver: they are checked here.
        let checked = reqwest::Url::parse(&delivery.url)
            .map_err(|_| Refused("the URL does not parse".to_owned()))
            .and_then(|url| check_host(&url, self.config.allow_private).map(|()| url));
        let url = match checked {
            Ok(url) => url,
            Err(refused) => return Outcome::refused(refused),
        };
        let body = serde_json::to_vec(&delivery.payload).expect("JSON values always serialize");
        let timestamp = Utc::now().timestamp();
        let result = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("nova-webhook-id", delivery.id.to_string())
            .header("nova-webhook-timestamp", timestamp.to_string())
            .header(
                "nova-webhook-signature",
                signature(&delivery.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(refused) = refusal_in(&error) {
                    return Outcome::refused(refused);
                }
                return Outcome {
                    delivered: false,
                    refused: false,
                    response_status: None,
                    error: Some(describe(&error, self.config.timeout)),
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Outcome {
                delivered: true,
                refused: false,
                response_status: Some(i32::from(status.as_u16())),
                error: None,
            };
        }
        // The status only: what a failed answer says is not kept, or the
        // delivery log would read out whatever the destination serves.
        let mut error = format!("HTTP {status}");
        if status.is_redirection() {
            error.push_str(": redirects are not followed; register the final URL");
        }
        Outcome {
            delivered: false,
            refused: false,
            response_status: Some(i32::from(status.as_u16())),
            error: Some(error),
        }
    }

    async fn record(
        &self,
        pool: &PgPool,
        delivery: &Claimed,
        outcome: Outcome,
    ) -> Result<(), sqlx::Error> {
        let attempts = usize::try_from(delivery.attempts).unwrap_or(usize::MAX);
        if outcome.delivered {
            WebhookOutcome::Delivered.count();
            tracing::debug!(delivery = %delivery.id, attempts, "webhook delivered");
            sqlx::query(
                "UPDATE webhook_deliveries \
                 SET status = 'delivered', delivered_at = now(), response_status = $2, \
                     last_error = NULL \
                 WHERE id = $1",
            )
            .bind(delivery.id)
            .bind(outcome.response_status)
            .execute(pool)
            .await?;
            return Ok(());
        }
        let error = outcome.error.unwrap_or_default();
        let retry = if outcome.refused {
            None
        } else {
            self.config.schedule.delay_after(attempts)
        };
        match retry {
            Some(delay) => {
                WebhookOutcome::Failed.count();
                tracing::warn!(delivery = %delivery.id, attempts, url = %delivery.url,
                    retry_in = ?delay, "webhook attempt failed: {error}");
                sqlx::query(
                    "UPDATE webhook_deliveries \
                     SET response_status = $2, last_error = $3, next_attempt_at = now() + $4 \
                     WHERE id = $1",
                )
                .bind(delivery.id)
                .bind(outcome.response_status)
                .bind(&error)
                .bind(interval(delay))
                .execute(pool)
                .await?;
            }
            None => {
                WebhookOutcome::GaveUp.count();
                tracing::warn!(delivery = %delivery.id, attempts, url = %delivery.url,
                    "webhook delivery failed for good: {error}");
                sqlx::query(
                    "UPDATE webhook_deliveries \
                     SET status = 'failed', response_status = $2, last_error = $3 \
                     WHERE id = $1",
                )
                .bind(delivery.id)
                .bind(outcome.response_status)
                .bind(&error)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }
}

fn interval(duration: Duration) -> PgInterval {
    PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    }
}

/// A transport error in words a receiver's owner can act on.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs_f64());
    }
    let mut text = if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_gives_up_after_about_a_day() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 10);
        let total: Duration = schedule.delays.iter().sum();
        assert!(
            total > Duration::from_secs(20 * 3600) && total < Duration::from_secs(24 * 3600),
            "{total:?}"
        );
        assert!(schedule.delays.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn delays_follow_the_schedule_with_bounded_jitter() {
        let schedule = RetrySchedule {
            delays: vec![Duration::from_secs(10), Duration::from_secs(30)],
            jitter: 0.2,
        };
        for _ in 0..100 {
            let first = schedule.delay_after(1).unwrap();
            assert!(first >= Duration::from_secs(8) && first <= Duration::from_secs(12));
            let second = schedule.delay_after(2).unwrap();
            assert!(second >= Duration::from_secs(24) && second <= Duration::from_secs(36));
        }
        assert_eq!(schedule.delay_after(3), None, "three attempts is all");
        assert_eq!(schedule.delay_after(0), None);
        let exact = RetrySchedule {
            jitter: 0.0,
            ..schedule
        };
        assert_eq!(exact.delay_after(2), Some(Duration::from_secs(30)));
    }
}

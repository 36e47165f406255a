//! A webhook receiver that answers 200 at once and measures what arrives: how many
//! `user.created` events, when the last came, and each event's delay from its
//! `occurred_at` to its arrival.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use actix_web::{App, HttpResponse, HttpServer, web};
use hdrhistogram::Histogram;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct Tally {
    pub received: u64,
    pub last: Option<Instant>,
    pub delay_us: Histogram<u64>,
}

#[derive(Clone)]
pub struct Receiver {
    tally: Arc<Mutex<Tally>>,
}

impl Receiver {
    /// Listens on 127.0.0.1:`port`.
    pub fn start(port: u16) -> anyhow::Result<Self> {
        let tally = Arc::new(Mutex::new(Tally {
            received: 0,
            last: None,
            delay_us: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        }));
        let shared = tally.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .default_service(web::to(record))
        })
        .workers(1)
        .bind(("127.0.0.1", port))?
        .run();
        tokio::spawn(server);
        Ok(Self { tally })
    }

    /// Waits until `count` user.created events arrived or `limit` passed.
    pub async fn wait_for(
        &self,
        count: u64,
        limit: Duration,
    ) -> (u64, Option<Instant>, Histogram<u64>) {
        let start = Instant::now();
        loop {
            if let Ok(tally) = self.tally.lock()
                && (tally.received >= count || start.elapsed() > limit)
            {
                return (tally.received, tally.last, tally.delay_us.clone());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn record(body: web::Bytes, tally: web::Data<Arc<Mutex<Tally>>>) -> HttpResponse {
    // The load tool measures real delivery delays; it has no services' clock.
    #[allow(clippy::disallowed_methods)]
    let arrived = SystemTime::now();
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    if event["type"] == "user.created"
        && let Ok(mut tally) = tally.lock()
    {
        tally.received += 1;
        tally.last = Some(Instant::now());
        if let Some(occurred) = event["occurred_at"]
            .as_str()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
        {
            let arrived = OffsetDateTime::from(arrived);
            let delay = (arrived - occurred).whole_microseconds().max(1);
            let _ = tally.delay_us.record(u64::try_from(delay).unwrap_or(1));
        }
    }
    HttpResponse::NoContent().finish()
}

//! The 17TRACK client against the tracking-service simulator, over real HTTP on 127.0.0.1:
//! a scripted journey registered and fetched, what the client makes of each fault, and
//! pushes received and checked.
#![allow(clippy::unwrap_used)]

use dropline_app::tracking::{TrackingSource, TrackingSourceError};
use dropline_connect::tracking_service::{TrackingServiceClient, TrackingServiceConfig};
use dropline_domain::state::ShipmentState;
use dropline_sim::tracking::{
    GET_TRACK_INFO, JourneyDelays, PushFault, REGISTER, ScriptedEvent, TrackingFault, TrackingServiceSim, WebhookInbox,
    codes,
};
use std::time::Duration;
use time::macros::datetime;

const KEY: &str = "17track-test-key-0042";
const NUMBER: &str = "LX204518733CN";
const CHINA_POST: u32 = 3011;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn config(sim: &TrackingServiceSim) -> TrackingServiceConfig {
    TrackingServiceConfig::new(sim.api_key())
        .with_api_base(sim.base_url())
        .with_timeout(Duration::from_secs(5))
        .with_requests_per_second(None)
}

fn client(sim: &TrackingServiceSim) -> TrackingServiceClient {
    TrackingServiceClient::new(config(sim)).unwrap()
}

async fn sim_with_journey() -> TrackingServiceSim {
    let sim = TrackingServiceSim::start(KEY).await.unwrap();
    sim.script_journey(NUMBER, CHINA_POST, JourneyDelays::default());
    sim
}

#[tokio::test]
async fn a_scripted_journey_is_registered_and_fetched_normalized() {
    let sim = sim_with_journey().await;
    sim.set_estimated_delivery(NUMBER, datetime!(2025-03-10 00:00 UTC), datetime!(2025-03-14 00:00 UTC));
    let client = client(&sim);
    client.register(NUMBER, Some("s10")).await.unwrap();
    // Twice is not an error.
    client.register(NUMBER, None).await.unwrap();
    assert!(sim.is_registered(NUMBER));

    let first = client.fetch(NUMBER, None).await.unwrap();
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].state, ShipmentState::InfoReceived);

    sim.advance(20 * DAY);
    let parcel = client.fetch(NUMBER, Some("3011")).await.unwrap();
    assert_eq!(parcel.tracking_number, NUMBER);
    assert_eq!(parcel.carrier.as_deref(), Some("3011"));
    assert_eq!(parcel.estimated_delivery, Some(datetime!(2025-03-14 00:00 UTC)));
    let mut events = parcel.events.clone();
    events.sort_by_key(|e| e.at);
    let states: Vec<_> = events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            ShipmentState::InfoReceived,
            ShipmentState::InTransit,
            ShipmentState::InTransit,
            ShipmentState::InTransit,
            ShipmentState::Customs,
            ShipmentState::InTransit,
            ShipmentState::OutForDelivery,
            ShipmentState::Delivered,
        ]
    );
    // Times in UTC: the label was made at the simulator's start, written as 08:00+08:00.
    assert_eq!(events[0].at, datetime!(2025-03-03 00:00 UTC));
    assert!(events.iter().all(|e| e.at.offset() == time::UtcOffset::UTC));
    assert!(events.iter().all(|e| e.from_carrier));
    assert_eq!(events[0].location.as_deref(), Some("Shenzhen, GD, CN"));
    assert_eq!(events[7].location.as_deref(), Some("Fresno, CA, US"));
    assert_eq!(events[7].note.as_deref(), Some("Delivered, left at the front door"));
    assert_eq!(events[7].at, datetime!(2025-03-11 06:00 UTC));
    assert_eq!(sim.calls(REGISTER), 2);
    assert_eq!(sim.calls(GET_TRACK_INFO), 2);
}

#[tokio::test]
async fn delayed_and_failed_attempt_journeys_show_their_trouble() {
    let sim = TrackingServiceSim::start(KEY).await.unwrap();
    sim.script_delayed_journey("RD1", CHINA_POST, JourneyDelays::default(), 5 * DAY);
    sim.script_failed_attempt_journey("RF2", 21051, JourneyDelays::default());
    let client = client(&sim);
    client.register("RD1", None).await.unwrap();
    client.register("RF2", None).await.unwrap();
    sim.advance(30 * DAY);
    let delayed = client.fetch("RD1", None).await.unwrap();
    // The delay notice keeps the parcel in customs: a delay is not a failed delivery.
    let notice = delayed
        .events
        .iter()
        .find(|e| e.note.as_deref().is_some_and(|n| n.to_lowercase().contains("delay")))
        .expect("the delay notice");
    assert_eq!(notice.state, ShipmentState::Customs);
    assert!(delayed.events.iter().all(|e| e.state != ShipmentState::Exception));
    let failed = client.fetch("RF2", None).await.unwrap();
    let mut states: Vec<_> = failed.events.iter().map(|e| (e.at, e.state)).collect();
    states.sort_by_key(|(at, _)| *at);
    let tail: Vec<_> = states.iter().rev().take(4).rev().map(|(_, s)| *s).collect();
    assert_eq!(
        tail,
        [
            ShipmentState::OutForDelivery,
            ShipmentState::AttemptFailed,
            ShipmentState::OutForDelivery,
            ShipmentState::Delivered
        ]
    );
}

#[tokio::test]
async fn duplicates_are_passed_and_unknown_statuses_kept_as_in_transit() {
    let sim = TrackingServiceSim::start(KEY).await.unwrap();
    sim.script(
        "UX1",
        190_271,
        vec![
            ScriptedEvent::after(
                Duration::ZERO,
                "InTransit_Teleported",
                "Beamed across",
                Some("Lyon, FR"),
            ),
            ScriptedEvent::after(Duration::from_secs(60), "Mystery", "Something happened", None).in_zone(2),
        ],
    );
    sim.duplicate_events(true);
    let client = client(&sim);
    client.register("UX1", None).await.unwrap();
    sim.advance(DAY);
    let parcel = client.fetch("UX1", None).await.unwrap();
    assert_eq!(parcel.events.len(), 4, "duplicates come as they are");
    assert!(parcel.events.iter().all(|e| e.state == ShipmentState::InTransit));
}

#[tokio::test]
async fn nothing_yet_unknown_numbers_and_forgotten_registrations() {
    let sim = TrackingServiceSim::start(KEY).await.unwrap();
    let future = datetime!(2025-03-05 00:00 UTC);
    sim.script(
        "LATE1",
        CHINA_POST,
        vec![ScriptedEvent::at(future, "InfoReceived", "Label created", None)],
    );
    let client = client(&sim);
    client.register("LATE1", None).await.unwrap();
    assert!(matches!(
        client.fetch("LATE1", None).await,
        Err(TrackingSourceError::NotYet(_))
    ));

    // A number no carrier knows is refused at registration.
    assert!(matches!(
        client.register("NOSUCH123", None).await,
        Err(TrackingSourceError::Refused(m)) if m.contains(&codes::CARRIER_NOT_DETECTED.to_string())
    ));
    // A carrier code other than the parcel's.
    sim.script("CC1", CHINA_POST, vec![]);
    assert!(matches!(
        client.register("CC1", Some("21051")).await,
        Err(TrackingSourceError::Refused(m)) if m.contains(&codes::CARRIER_CODE_INVALID.to_string())
    ));

    // 17TRACK forgot the number: fetch registers it again and says "not yet".
    sim.set_now(future);
    assert!(sim.forget("LATE1"));
    assert!(matches!(
        client.fetch("LATE1", None).await,
        Err(TrackingSourceError::NotYet(_))
    ));
    assert!(sim.is_registered("LATE1"));
    assert_eq!(client.fetch("LATE1", None).await.unwrap().events.len(), 1);
}

#[tokio::test]
async fn each_fault_maps_to_its_error() {
    let sim = sim_with_journey().await;
    let client = client(&sim);
    client.register(NUMBER, None).await.unwrap();

    sim.fail_next(1);
    assert!(matches!(client.fetch(NUMBER, None).await, Err(TrackingSourceError::Retryable(m)) if m.contains("500")));

    sim.rate_limit_next(1, 7);
    assert_eq!(
        client.fetch(NUMBER, None).await,
        Err(TrackingSourceError::RateLimited {
            retry_after: Duration::from_secs(7)
        })
    );
    sim.fault_on(GET_TRACK_INFO, TrackingFault::RateLimited { retry_after_secs: None });
    assert_eq!(
        client.fetch(NUMBER, None).await,
        Err(TrackingSourceError::RateLimited {
            retry_after: Duration::from_secs(1)
        })
    );

    sim.malformed_next(1);
    assert!(matches!(
        client.fetch(NUMBER, None).await,
        Err(TrackingSourceError::Malformed(_))
    ));

    sim.reject_next(1, codes::NO_TRACKING_YET, "No tracking information at the moment.");
    assert!(matches!(
        client.fetch(NUMBER, None).await,
        Err(TrackingSourceError::NotYet(_))
    ));
    sim.reject_next(1, codes::QUOTA_EXHAUSTED, "Quota exhausted.");
    assert!(matches!(
        client.register("ANOTHER1", None).await,
        Err(TrackingSourceError::Misconfigured(_))
    ));
    sim.fault_on(
        REGISTER,
        TrackingFault::Code {
            code: codes::INTERNAL_ERROR,
            message: "Internal service error.".into(),
        },
    );
    assert!(matches!(
        client.register(NUMBER, None).await,
        Err(TrackingSourceError::Retryable(_))
    ));

    let quick = TrackingServiceClient::new(config(&sim).with_timeout(Duration::from_millis(200))).unwrap();
    sim.delay_next(1, Duration::from_secs(2));
    assert!(
        matches!(quick.fetch(NUMBER, None).await, Err(TrackingSourceError::Retryable(m)) if m.contains("timed out"))
    );

    let wrong_key = TrackingServiceClient::new(TrackingServiceConfig {
        api_key: "not-the-key".into(),
        ..config(&sim)
    })
    .unwrap();
    assert!(matches!(
        wrong_key.fetch(NUMBER, None).await,
        Err(TrackingSourceError::Misconfigured(m)) if m.contains("401") && !m.contains("not-the-key")
    ));
    let wrong_base =
        TrackingServiceClient::new(config(&sim).with_api_base(format!("{}/nowhere", sim.base_url()))).unwrap();
    assert!(matches!(
        wrong_base.fetch(NUMBER, None).await,
        Err(TrackingSourceError::Misconfigured(m)) if m.contains("404")
    ));
    assert_eq!(sim.pending_faults(), 0);

    // After the faults the number is still followed.
    sim.advance(20 * DAY);
    assert_eq!(client.fetch(NUMBER, None).await.unwrap().events.len(), 8);
}

#[tokio::test]
async fn calls_are_spaced_to_the_rate_limit() {
    let sim = sim_with_journey().await;
    let client = TrackingServiceClient::new(config(&sim).with_requests_per_second(Some(20))).unwrap();
    let started = std::time::Instant::now();
    client.register(NUMBER, None).await.unwrap();
    for _ in 0..4 {
        client.fetch(NUMBER, None).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn pushes_are_verified_before_they_are_read() {
    let sim = sim_with_journey().await;
    let inbox = WebhookInbox::start().await.unwrap();
    sim.set_webhook(Some(inbox.url()));
    let client = client(&sim);
    client.register(NUMBER, None).await.unwrap();

    // Good signature: the parcel as it stands.
    let pushed = sim.advance_and_push(4 * DAY).await;
    assert_eq!(pushed, vec![(NUMBER.to_string(), Ok(200))]);
    // Spoiled pushes.
    sim.spoil_next_push(PushFault::WrongKey);
    sim.push(NUMBER).await.unwrap();
    sim.spoil_next_push(PushFault::TamperedBody);
    sim.push(NUMBER).await.unwrap();
    sim.spoil_next_push(PushFault::Unsigned);
    sim.push(NUMBER).await.unwrap();
    sim.push_stopped(NUMBER).await.unwrap();

    let received = inbox.received();
    assert_eq!(received.len(), 5);
    let parcels = client.read_push(&received[0].headers, &received[0].body).unwrap();
    assert_eq!(parcels.len(), 1);
    assert_eq!(parcels[0].tracking_number, NUMBER);
    assert_eq!(parcels[0].events.len(), 3, "label, pick-up, departure");
    assert!(parcels[0].events.iter().any(|e| e.state == ShipmentState::InTransit));
    for spoiled in &received[1..4] {
        assert!(matches!(
            client.read_push(&spoiled.headers, &spoiled.body),
            Err(TrackingSourceError::Refused(_))
        ));
    }
    // A good signature moved to another body is refused.
    assert!(matches!(
        client.read_push(&received[0].headers, &received[4].body),
        Err(TrackingSourceError::Refused(_))
    ));
    assert_eq!(
        client.read_push(&received[4].headers, &received[4].body),
        Ok(Vec::new())
    );
}

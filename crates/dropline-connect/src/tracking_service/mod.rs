//! 17TRACK's Tracking API v2.2 (`https://api.17track.net/track/v2.2`): a parcel-tracking
//! aggregator following thousands of carriers, behind the engine's
//! [`TrackingSource`](dropline_app::tracking::TrackingSource) port.
//! [`client::TrackingServiceClient`] makes the calls and reads the pushes; the readers of
//! [`wire`] are pure (bytes in, typed values or a
//! [`TrackingSourceError`](dropline_app::tracking::TrackingSourceError) out).
//!
//! # Calls
//!
//! | Port | Call | Body | Gives |
//! |---|---|---|---|
//! | `register` | `POST /register` | `[{"number", "carrier"?}]` | `data.accepted[]` / `data.rejected[]` (`{number, error: {code, message}}`) |
//! | `fetch` | `POST /gettrackinfo` | `[{"number", "carrier"?}]` | `data.accepted[]` with `track_info`, or `data.rejected[]` |
//! | `read_push` | webhook `POST` from 17TRACK | `{"event", "data"}` | `TRACKING_UPDATED`: one tracked number; `TRACKING_STOPPED`: nothing |
//!
//! Every call carries the account's security key in the `17token` header, sends JSON and
//! receives the envelope `{"code": 0, "data": {"accepted": [...], "rejected": [...]}}`
//! (`code` 0 is success; another code is an error of the whole call). `carrier` is sent
//! only when the engine's carrier code is 17TRACK's numeric code (`3011`, `190271`, …);
//! otherwise 17TRACK detects the carrier. [`ParcelTracking::carrier`](dropline_app::tracking::ParcelTracking::carrier) is 17TRACK's numeric
//! code, as text.
//!
//! A tracked number is `{number, carrier, param, tag, track_info}`, with
//! `track_info.latest_status {status, sub_status}`, `track_info.latest_event`,
//! `track_info.time_metrics.estimated_delivery_date {from, to}` and
//! `track_info.tracking.providers[] {provider, events[]}`; an event is
//! `{time_iso, time_utc, time_raw, description, location, stage, sub_status, address}`,
//! newest first. Calls are spaced to 17TRACK's 3 requests a second per key
//! ([`crate::pace::Pacer`]).
//!
//! # Errors
//!
//! | Answer | Port error |
//! |---|---|
//! | HTTP 401, 403 (wrong key, IP not whitelisted, account disabled), 404 (wrong base) | `Misconfigured` |
//! | HTTP 429 | `RateLimited`, the `Retry-After` wait (seconds or an HTTP date; 1 s when absent) |
//! | HTTP 5xx, time-out, refused or cut connection | `Retryable` |
//! | a 2xx body that is not the envelope, a missing or mistyped field, an answer over 4 MiB | `Malformed`, naming the field (`data.accepted[0].track_info…`) |
//! | code -18010001 (IP), -18010002 (key), -18010004 (account disabled), -18010005 (unauthorized) | `Misconfigured` |
//! | code -18019908 (quota used up) | `Misconfigured`: a person has to buy quota |
//! | code -18010003 (internal error) | `Retryable` |
//! | code -18019907 (a daily limit reached) | `RateLimited`, one hour |
//! | code -18019901 (already registered) on `register` | success |
//! | code -18019902 (not registered) on `gettrackinfo` | the number is registered again; `NotYet` |
//! | code -18019909 (no tracking information yet) | `NotYet` |
//! | accepted, status `NotFound` (or no `track_info`) and no event | `NotYet` |
//! | accepted, sub-status `NotFound_InvalidCode` and no event | `Refused` |
//! | code -18019903 (carrier not detected), -18019910 (carrier code wrong), -18010010…-18010020 (a field refused), any other code | `Refused`, with the code |
//!
//! # States
//!
//! Each event's `sub_status` (17TRACK's 30 sub-statuses under its 9 main statuses) gives its
//! state:
//!
//! | 17TRACK sub-status | `stage` when it has one | State |
//! |---|---|---|
//! | `InfoReceived` | `InfoReceived` | `info_received` |
//! | `InTransit_PickedUp` | `PickedUp` | `in_transit` |
//! | `InTransit_Departure` | `Departure` | `in_transit` |
//! | `InTransit_Arrival` | `Arrival` | `in_transit` |
//! | `InTransit_Other` | | `in_transit` |
//! | `InTransit_CustomsProcessing` | | `customs` |
//! | `InTransit_CustomsRequiringInformation` | | `customs` |
//! | `InTransit_CustomsReleased` | | `in_transit` |
//! | `Expired_Other` | | `expired` |
//! | `AvailableForPickup_Other` | `AvailableForPickup` | `out_for_delivery` (waiting for the customer at a pick-up point: the last step before delivery) |
//! | `OutForDelivery_Other` | `OutForDelivery` | `out_for_delivery` |
//! | `DeliveryFailure_Other`, `_NoBody`, `_Security`, `_Rejected`, `_InvalidAddress` | | `attempt_failed` |
//! | `Delivered_Other` | `Delivered` | `delivered` |
//! | `Exception_Returning` | `Returning` | `exception` (on its way back; not final) |
//! | `Exception_Returned` | `Returned` | `returned_to_sender` |
//! | `Exception_Delayed` | | the state of the event before it (a delay, not a failure) |
//! | `Exception_Other`, `_NoBody`, `_Security`, `_Damage`, `_Rejected`, `_Lost`, `_Destroyed`, `_Cancel` | | `exception` |
//! | `NotFound_Other`, `NotFound_InvalidCode` | | the event is dropped (17TRACK's "nothing found" marker, not a carrier event) |
//!
//! A sub-status not in the table (17TRACK may add some) falls back, in order, to its main
//! status (the text before `_`: `InfoReceived` → `info_received`, `InTransit` →
//! `in_transit`, `Expired` → `expired`, `AvailableForPickup` and `OutForDelivery` →
//! `out_for_delivery`, `DeliveryFailure` → `attempt_failed`, `Delivered` → `delivered`,
//! `Exception` → `exception`), then to the event's `stage` as in the table, and when neither
//! is known the event is **kept** as `in_transit`, counted and logged: the carrier's words
//! and time still belong in the parcel's history, and `in_transit` neither ends the parcel
//! nor raises an alarm; its next classified event sets the state right.
//!
//! # Times, places, words
//!
//! An event's time is `time_iso` (the carrier's local time WITH its offset) converted to
//! UTC; when it has no offset (its zone is unknown) or does not read, `time_utc` (17TRACK's
//! UTC) is used. An event with neither readable (or a year outside 2000–2100) is dropped and
//! counted; when every event of a parcel is dropped so, the answer is `Malformed`. Its
//! location is `location` when not blank, else "city, state, country" from `address`; its
//! note is `description` (cut to 500 characters). Duplicated events are passed as they come:
//! the engine merges them. When no provider holds an event, `latest_event` is read instead.
//! The estimated delivery is `estimated_delivery_date.to` (else `.from`); an unreadable
//! estimate is ignored.
//!
//! # Pushes
//!
//! 17TRACK POSTs `{"event": "TRACKING_UPDATED", "data": {number, carrier, track_info, …}}`
//! with a `sign` header: the hex SHA-256 of the raw body, a `/`, and the security key.
//! [`read_push`](dropline_app::tracking::TrackingSource::read_push) checks it on the bytes
//! as received, in constant time, BEFORE anything is parsed (missing, not 64 hex digits,
//! repeated or wrong: `Refused`). `TRACKING_STOPPED` and any other event give no parcel.
//!
//! # Sources and what is not verified
//!
//! From 17TRACK's help centre (error codes, HTTP statuses; the 9 main statuses and 30
//! sub-statuses with their meanings) and 17TRACK's rate limits as restated by a public API
//! catalogue (3 requests a second per key, 40 numbers per call). The v2.2 field names
//! (`track_info`, `latest_status`, `tracking.providers[].events[]`, `time_iso`, `time_utc`,
//! `stage`, `sub_status`, `address`, `time_metrics.estimated_delivery_date`) and the push
//! format and signature (`sign` = sha256(body + "/" + key)) come from public client code
//! written against the API, several of them agreeing; 17TRACK's own API reference page was
//! not read. Not documented there, and read leniently here:
//!
//! - The body of a 401 or 429: any body is accepted; a 17TRACK envelope's code is kept in
//!   the text.
//! - Whether `data` of a push may be an array: read as well.
//! - Whether `stage` is always given: it is used only when the sub-status is unknown.

pub mod client;
pub mod wire;

pub use client::{TrackingServiceClient, TrackingServiceConfig};

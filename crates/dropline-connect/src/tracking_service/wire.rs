//! 17TRACK's JSON, read: the envelope of every answer, the `register` and `gettrackinfo`
//! results, the parcel (`track_info`) with its events normalized to [`ShipmentState`], and
//! the push (webhook) body with its `sign` header. Pure: bytes in, typed values or a
//! [`TrackingSourceError`] out; no HTTP, no clock. The mapping tables are in the
//! [module docs](super).

use dropline_app::tracking::{ParcelTracking, TrackingSourceError};
use dropline_domain::order::ShipmentEvent;
use dropline_domain::state::ShipmentState;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

/// 17TRACK's code for success.
pub const SUCCESS: i64 = 0;
/// The number is registered already (a second `register` of it).
pub const ALREADY_REGISTERED: i64 = -18_019_901;
/// The number is not registered (a `gettrackinfo` before `register`).
pub const NOT_REGISTERED: i64 = -18_019_902;
/// The carrier cannot be detected from the number.
pub const CARRIER_NOT_DETECTED: i64 = -18_019_903;
/// The daily limit of some call is reached.
pub const DAILY_LIMIT: i64 = -18_019_907;
/// The account's tracking quota is used up.
pub const QUOTA_EXHAUSTED: i64 = -18_019_908;
/// No tracking information at the moment.
pub const NO_TRACKING_YET: i64 = -18_019_909;
/// The carrier code sent is not one 17TRACK knows.
pub const CARRIER_CODE_INVALID: i64 = -18_019_910;
/// Internal error at 17TRACK: try again later.
pub const INTERNAL_ERROR: i64 = -18_010_003;

/// The push header carrying the signature (lower-case, as the port hands headers over).
pub const SIGN_HEADER: &str = "sign";
/// The push event carrying tracking.
pub const TRACKING_UPDATED: &str = "TRACKING_UPDATED";
/// The push event telling that 17TRACK stopped following a number.
pub const TRACKING_STOPPED: &str = "TRACKING_STOPPED";

/// The most events read for one parcel; an answer with more is refused.
pub const MAX_EVENTS: usize = 2_000;
/// The most parcels read from one answer or push; more is refused.
pub const MAX_PARCELS: usize = 100;
/// Carrier texts are cut to this many characters.
const NOTE_CHARS: usize = 500;
/// Locations are cut to this many characters.
const LOCATION_CHARS: usize = 200;
/// Event times outside these years are read as unreadable (a zero or garbage date).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// How 17TRACK classified an event, as far as it went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    /// The sub-status is one of the 30 known.
    SubStatus,
    /// An unknown sub-status whose main-status prefix (`InTransit_…`) is known.
    MainStatus,
    /// No usable sub-status; the `stage` is known.
    Stage,
    /// Nothing known: kept as `in_transit` (see the module docs).
    Unclassified,
    /// A delay notice (`Exception_Delayed`): the parcel stays where it was (its state is
    /// that of the event before it), so a delay is not taken for a failed delivery.
    Delay,
}

/// The state for a 17TRACK sub-status (`InTransit_PickedUp`, …) and stage (`PickedUp`, …);
/// `None` for the `NotFound_*` sub-statuses, which are not carrier events. See the module
/// table; unknown values fall back to the main status before the `_`, then to the stage,
/// then to `in_transit`.
pub fn event_state(sub_status: Option<&str>, stage: Option<&str>) -> Option<(ShipmentState, Classification)> {
    use ShipmentState as S;
    let sub_status = sub_status.map(str::trim).filter(|s| !s.is_empty());
    if let Some(sub) = sub_status {
        let exact = match sub {
            "NotFound_Other" | "NotFound_InvalidCode" => return None,
            "Exception_Delayed" => return Some((S::InTransit, Classification::Delay)),
            "InfoReceived" => Some(S::InfoReceived),
            "InTransit_PickedUp"
            | "InTransit_Other"
            | "InTransit_Departure"
            | "InTransit_Arrival"
            | "InTransit_CustomsReleased" => Some(S::InTransit),
            "InTransit_CustomsProcessing" | "InTransit_CustomsRequiringInformation" => Some(S::Customs),
            "Expired_Other" => Some(S::Expired),
            "AvailableForPickup_Other" | "OutForDelivery_Other" => Some(S::OutForDelivery),
            "DeliveryFailure_Other"
            | "DeliveryFailure_NoBody"
            | "DeliveryFailure_Security"
            | "DeliveryFailure_Rejected"
            | "DeliveryFailure_InvalidAddress" => Some(S::AttemptFailed),
            "Delivered_Other" => Some(S::Delivered),
            "Exception_Returned" => Some(S::ReturnedToSender),
            "Exception_Other"
            | "Exception_Returning"
            | "Exception_NoBody"
            | "Exception_Security"
            | "Exception_Damage"
            | "Exception_Rejected"
            | "Exception_Lost"
            | "Exception_Destroyed"
            | "Exception_Cancel" => Some(S::Exception),
            _ => None,
        };
        if let Some(state) = exact {
            return Some((state, Classification::SubStatus));
        }
        let main = sub.split('_').next().unwrap_or(sub);
        if main == "NotFound" {
            return None;
        }
        if let Some(state) = main_status_state(main) {
            return Some((state, Classification::MainStatus));
        }
    }
    let stage_state = match stage.map(str::trim).unwrap_or("") {
        "InfoReceived" => Some(S::InfoReceived),
        "PickedUp" | "Departure" | "Arrival" => Some(S::InTransit),
        "AvailableForPickup" | "OutForDelivery" => Some(S::OutForDelivery),
        "Delivered" => Some(S::Delivered),
        "Returning" => Some(S::Exception),
        "Returned" => Some(S::ReturnedToSender),
        _ => None,
    };
    match stage_state {
        Some(state) => Some((state, Classification::Stage)),
        None => Some((S::InTransit, Classification::Unclassified)),
    }
}

/// The state for one of 17TRACK's 9 main statuses (`NotFound` has none).
pub fn main_status_state(status: &str) -> Option<ShipmentState> {
    use ShipmentState as S;
    match status {
        "InfoReceived" => Some(S::InfoReceived),
        "InTransit" => Some(S::InTransit),
        "Expired" => Some(S::Expired),
        "AvailableForPickup" | "OutForDelivery" => Some(S::OutForDelivery),
        "DeliveryFailure" => Some(S::AttemptFailed),
        "Delivered" => Some(S::Delivered),
        "Exception" => Some(S::Exception),
        _ => None,
    }
}

/// The error for a 17TRACK error code (top-level `code`, or a rejected number's
/// `error.code`); `message` is 17TRACK's text, kept for people. [`ALREADY_REGISTERED`] and
/// [`NOT_REGISTERED`] are handled by the callers before this.
pub fn error_for_code(code: i64, message: &str) -> TrackingSourceError {
    let text = if message.trim().is_empty() {
        format!("17TRACK code {code}")
    } else {
        format!("17TRACK code {code}: {}", cut(message.trim(), NOTE_CHARS))
    };
    match code {
        // IP not whitelisted, invalid security key, account disabled, unauthorized access;
        // the quota used up: a person has to act.
        -18_010_001 | -18_010_002 | -18_010_004 | -18_010_005 | QUOTA_EXHAUSTED => {
            TrackingSourceError::Misconfigured(text)
        }
        INTERNAL_ERROR => TrackingSourceError::Retryable(text),
        NO_TRACKING_YET | NOT_REGISTERED => TrackingSourceError::NotYet(text),
        DAILY_LIMIT => TrackingSourceError::RateLimited {
            retry_after: std::time::Duration::from_secs(60 * 60),
        },
        // Carrier not detected or unknown, a field refused (-18010010 to -18010020), and any
        // code not known here: the same request fails again.
        _ => TrackingSourceError::Refused(text),
    }
}

/// What `register` said of one number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Accepted now; 17TRACK's carrier code when it detected one.
    Accepted { carrier: Option<u32> },
    /// Registered before.
    AlreadyRegistered,
    /// Refused with this code and message.
    Rejected { code: i64, message: String },
}

/// What `gettrackinfo` said of one number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackAnswer {
    /// The parcel as 17TRACK knows it (maybe without events yet).
    Tracked(ReadParcel),
    /// Refused with this code and message ([`NOT_REGISTERED`] among them).
    Rejected { code: i64, message: String },
}

/// A parcel read from 17TRACK, with what was left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadParcel {
    pub parcel: ParcelTracking,
    /// `latest_status.status` (`NotFound`, `InTransit`, …), when given.
    pub latest_status: Option<String>,
    /// `latest_status.sub_status`, when given.
    pub latest_sub_status: Option<String>,
    /// Events dropped because their time could not be read.
    pub unreadable_times: usize,
    /// Events kept as `in_transit` because neither their sub-status nor their stage is known.
    pub unclassified: usize,
    /// Events dropped because they are 17TRACK's `NotFound` markers, not carrier events.
    pub not_found_markers: usize,
    /// Indexes in `parcel.events` of delay notices, whose state is the event's before them.
    delay_notices: Vec<usize>,
}

impl ReadParcel {
    /// Whether 17TRACK has found nothing for the number yet (status `NotFound`, or no
    /// `track_info`, and no event).
    pub fn nothing_yet(&self) -> bool {
        self.parcel.events.is_empty() && self.latest_status.as_deref().is_none_or(|s| s == "NotFound")
    }

    /// Whether 17TRACK says the number is not a valid tracking number
    /// (`NotFound_InvalidCode`).
    pub fn invalid_number(&self) -> bool {
        self.latest_sub_status.as_deref() == Some("NotFound_InvalidCode")
    }
}

/// A tracking number as compared: without spaces, upper case.
pub fn same_number(a: &str, b: &str) -> bool {
    let compact = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    compact(a) == compact(b)
}

// ----- reading helpers -----

fn malformed(path: &str, what: impl std::fmt::Display) -> TrackingSourceError {
    TrackingSourceError::Malformed(format!("{path}: {what}"))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, TrackingSourceError> {
    value
        .as_object()
        .ok_or_else(|| malformed(path, format!("{} is not an object", kind(value))))
}

/// An optional object: absent or null is `None`.
fn opt_object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, TrackingSourceError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => object(value, &format!("{path}.{key}")).map(Some),
    }
}

/// An optional array: absent or null is empty.
fn opt_array<'a>(map: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], TrackingSourceError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(malformed(
            &format!("{path}.{key}"),
            format!("{} is not an array", kind(other)),
        )),
    }
}

/// Optional text, trimmed; absent, null or blank is `None`.
fn opt_text(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, TrackingSourceError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let text = text.trim();
            Ok((!text.is_empty()).then(|| text.to_string()))
        }
        Some(other) => Err(malformed(
            &format!("{path}.{key}"),
            format!("{} is not text", kind(other)),
        )),
    }
}

fn required_text(map: &Map<String, Value>, key: &str, path: &str) -> Result<String, TrackingSourceError> {
    opt_text(map, key, path)?.ok_or_else(|| malformed(&format!("{path}.{key}"), "missing"))
}

/// An optional integer (a JSON integer or its text); absent or null is `None`.
fn opt_int(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, TrackingSourceError> {
    let bad = |what: String| malformed(&format!("{path}.{key}"), what);
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("{n} is not an integer"))),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| bad(format!("{text:?} is not an integer"))),
        Some(other) => Err(bad(format!("{} is not an integer", kind(other)))),
    }
}

/// 17TRACK's carrier code: a positive integer; 0 or absent is none.
fn opt_carrier(map: &Map<String, Value>, path: &str) -> Result<Option<u32>, TrackingSourceError> {
    match opt_int(map, "carrier", path)? {
        None | Some(0) => Ok(None),
        Some(code) => u32::try_from(code)
            .map(Some)
            .map_err(|_| malformed(&format!("{path}.carrier"), format!("{code} is not a carrier code"))),
    }
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// The body as JSON, else [`TrackingSourceError::Malformed`].
fn json(body: &[u8]) -> Result<Value, TrackingSourceError> {
    serde_json::from_slice(body).map_err(|e| TrackingSourceError::Malformed(format!("body is not JSON: {e}")))
}

/// The `data` of an envelope `{code, data}` whose code is 0, else the error for the code.
fn envelope_data(body: &[u8]) -> Result<Value, TrackingSourceError> {
    let value = json(body)?;
    let Value::Object(mut envelope) = value else {
        return Err(TrackingSourceError::Malformed("body is not a JSON object".to_string()));
    };
    let code = opt_int(&envelope, "code", "body")?.ok_or_else(|| malformed("body.code", "missing"))?;
    if code != SUCCESS {
        return Err(error_for_code(code, &envelope_message(&envelope)));
    }
    let data = envelope.remove("data").unwrap_or(Value::Null);
    if !data.is_object() {
        return Err(malformed("data", format!("{} is not an object", kind(&data))));
    }
    Ok(data)
}

/// 17TRACK's text for a failed envelope: `data.errors[0].message`, else `message`, else "".
fn envelope_message(envelope: &Map<String, Value>) -> String {
    let from_errors = envelope
        .get("data")
        .and_then(|d| d.get("errors"))
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str);
    from_errors
        .or_else(|| envelope.get("message").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// The code of an error envelope, when the body is one (for a non-2xx answer).
pub fn error_envelope(body: &[u8]) -> Option<(i64, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let envelope = value.as_object()?;
    let code = opt_int(envelope, "code", "body").ok()??;
    (code != SUCCESS).then(|| (code, envelope_message(envelope)))
}

/// Finds the entry for `number` in `data.accepted` or `data.rejected`.
enum Entry<'a> {
    Accepted(usize, &'a Map<String, Value>),
    Rejected(usize, &'a Map<String, Value>),
}

fn entry_for<'a>(data: &'a Value, number: &str) -> Result<Entry<'a>, TrackingSourceError> {
    let data = object(data, "data")?;
    let accepted = opt_array(data, "accepted", "data")?;
    let rejected = opt_array(data, "rejected", "data")?;
    if accepted.len() > MAX_PARCELS || rejected.len() > MAX_PARCELS {
        return Err(malformed("data", format!("more than {MAX_PARCELS} entries")));
    }
    for (i, item) in accepted.iter().enumerate() {
        let path = format!("data.accepted[{i}]");
        let item = object(item, &path)?;
        if same_number(&required_text(item, "number", &path)?, number) {
            return Ok(Entry::Accepted(i, item));
        }
    }
    for (i, item) in rejected.iter().enumerate() {
        let path = format!("data.rejected[{i}]");
        let item = object(item, &path)?;
        if same_number(&required_text(item, "number", &path)?, number) {
            return Ok(Entry::Rejected(i, item));
        }
    }
    Err(TrackingSourceError::Malformed(format!(
        "data: neither accepted nor rejected holds the number {number:?}"
    )))
}

/// `error.code` and `error.message` of a rejected entry.
fn rejection(item: &Map<String, Value>, path: &str) -> Result<(i64, String), TrackingSourceError> {
    let error = opt_object(item, "error", path)?.ok_or_else(|| malformed(&format!("{path}.error"), "missing"))?;
    let error_path = format!("{path}.error");
    let code =
        opt_int(error, "code", &error_path)?.ok_or_else(|| malformed(&format!("{error_path}.code"), "missing"))?;
    if code == SUCCESS {
        return Err(malformed(&format!("{error_path}.code"), "0 on a rejected number"));
    }
    let message = opt_text(error, "message", &error_path)?.unwrap_or_default();
    Ok((code, message))
}

/// Reads a `register` answer for `number`.
pub fn parse_register(body: &[u8], number: &str) -> Result<Registration, TrackingSourceError> {
    let data = envelope_data(body)?;
    match entry_for(&data, number)? {
        Entry::Accepted(i, item) => Ok(Registration::Accepted {
            carrier: opt_carrier(item, &format!("data.accepted[{i}]"))?,
        }),
        Entry::Rejected(i, item) => match rejection(item, &format!("data.rejected[{i}]"))? {
            (ALREADY_REGISTERED, _) => Ok(Registration::AlreadyRegistered),
            (code, message) => Ok(Registration::Rejected { code, message }),
        },
    }
}

/// Reads a `gettrackinfo` answer for `number`.
pub fn parse_track_info(body: &[u8], number: &str) -> Result<TrackAnswer, TrackingSourceError> {
    let data = envelope_data(body)?;
    match entry_for(&data, number)? {
        Entry::Accepted(i, item) => read_parcel(item, &format!("data.accepted[{i}]")).map(TrackAnswer::Tracked),
        Entry::Rejected(i, item) => {
            let (code, message) = rejection(item, &format!("data.rejected[{i}]"))?;
            Ok(TrackAnswer::Rejected { code, message })
        }
    }
}

/// Reads one tracked number `{number, carrier, track_info}` (an accepted `gettrackinfo`
/// entry, or a push's `data`).
///
/// Events of every provider are read, in 17TRACK's order (newest first), duplicates kept.
/// An event whose time cannot be read is dropped and counted; when every event was dropped
/// so, the parcel is [`TrackingSourceError::Malformed`]. When the providers hold no event at
/// all, `latest_event` is read instead (17TRACK repeats the newest event there).
pub fn read_parcel(item: &Map<String, Value>, path: &str) -> Result<ReadParcel, TrackingSourceError> {
    let tracking_number = required_text(item, "number", path)?;
    let carrier = opt_carrier(item, path)?;
    let mut read = ReadParcel {
        parcel: ParcelTracking {
            tracking_number,
            carrier: carrier.map(|c| c.to_string()),
            events: Vec::new(),
            estimated_delivery: None,
        },
        latest_status: None,
        latest_sub_status: None,
        unreadable_times: 0,
        unclassified: 0,
        not_found_markers: 0,
        delay_notices: Vec::new(),
    };
    let info_path = format!("{path}.track_info");
    let Some(info) = opt_object(item, "track_info", path)? else {
        return Ok(read);
    };
    if let Some(latest) = opt_object(info, "latest_status", &info_path)? {
        let latest_path = format!("{info_path}.latest_status");
        read.latest_status = opt_text(latest, "status", &latest_path)?;
        read.latest_sub_status = opt_text(latest, "sub_status", &latest_path)?;
    }
    read.parcel.estimated_delivery = estimated_delivery(info, &info_path)?;
    let mut seen = 0usize;
    if let Some(tracking) = opt_object(info, "tracking", &info_path)? {
        let tracking_path = format!("{info_path}.tracking");
        let providers = opt_array(tracking, "providers", &tracking_path)?;
        for (p, provider) in providers.iter().enumerate() {
            let provider_path = format!("{tracking_path}.providers[{p}]");
            let provider = object(provider, &provider_path)?;
            let events = opt_array(provider, "events", &provider_path)?;
            for (e, event) in events.iter().enumerate() {
                seen += 1;
                if seen > MAX_EVENTS {
                    return Err(malformed(path, format!("more than {MAX_EVENTS} events")));
                }
                read_event(event, &format!("{provider_path}.events[{e}]"), &mut read)?;
            }
        }
    }
    if seen == 0
        && let Some(latest) = info.get("latest_event").filter(|v| !v.is_null())
    {
        seen = 1;
        read_event(latest, &format!("{info_path}.latest_event"), &mut read)?;
    }
    if seen > 0 && read.unreadable_times == seen {
        return Err(malformed(
            path,
            format!("none of its {seen} events has a readable time"),
        ));
    }
    // A delay notice keeps the state the parcel had: that of the latest event before it.
    let notices = std::mem::take(&mut read.delay_notices);
    for &index in &notices {
        let at = read.parcel.events[index].at;
        let before = read
            .parcel
            .events
            .iter()
            .enumerate()
            .filter(|(i, e)| !notices.contains(i) && e.at <= at)
            .max_by_key(|(_, e)| e.at)
            .map(|(_, e)| e.state);
        read.parcel.events[index].state = before.unwrap_or(ShipmentState::InTransit);
    }
    Ok(read)
}

/// `time_metrics.estimated_delivery_date`: its `to` (the latest date promised), else its
/// `from`. An unreadable date is no date (it is only an estimate).
fn estimated_delivery(info: &Map<String, Value>, path: &str) -> Result<Option<OffsetDateTime>, TrackingSourceError> {
    let metrics_path = format!("{path}.time_metrics");
    let Some(metrics) = opt_object(info, "time_metrics", path)? else {
        return Ok(None);
    };
    let Some(estimate) = opt_object(metrics, "estimated_delivery_date", &metrics_path)? else {
        return Ok(None);
    };
    let estimate_path = format!("{metrics_path}.estimated_delivery_date");
    for key in ["to", "from"] {
        if let Some(text) = opt_text(estimate, key, &estimate_path)? {
            if let Some(at) = parse_time(&text) {
                return Ok(Some(at));
            }
            tracing::debug!(
                field = key,
                "17TRACK's estimated delivery date is not readable; ignored"
            );
        }
    }
    Ok(None)
}

/// One event, normalized and pushed onto `read` (or counted as dropped).
fn read_event(event: &Value, path: &str, read: &mut ReadParcel) -> Result<(), TrackingSourceError> {
    let event = object(event, path)?;
    let sub_status = opt_text(event, "sub_status", path)?;
    let stage = opt_text(event, "stage", path)?;
    let description = opt_text(event, "description", path)?;
    let location = match opt_text(event, "location", path)? {
        Some(location) => Some(location),
        None => address_location(event, path)?,
    };
    let time_iso = opt_text(event, "time_iso", path)?;
    let time_utc = opt_text(event, "time_utc", path)?;
    let Some((state, how)) = event_state(sub_status.as_deref(), stage.as_deref()) else {
        read.not_found_markers += 1;
        return Ok(());
    };
    // The carrier's local time with its offset; else 17TRACK's UTC time. A local time
    // without offset is not used: its zone is unknown.
    let at = time_iso
        .as_deref()
        .and_then(parse_time)
        .or_else(|| time_utc.as_deref().and_then(parse_time));
    let Some(at) = at else {
        read.unreadable_times += 1;
        return Ok(());
    };
    if how == Classification::Unclassified {
        read.unclassified += 1;
    }
    if how == Classification::Delay {
        read.delay_notices.push(read.parcel.events.len());
    }
    read.parcel.events.push(ShipmentEvent {
        at,
        state,
        note: description.map(|d| cut(&d, NOTE_CHARS)),
        location: location.map(|l| cut(&l, LOCATION_CHARS)),
        from_carrier: true,
    });
    Ok(())
}

/// "city, state, country" from an event's `address`, when it names any of them.
fn address_location(event: &Map<String, Value>, path: &str) -> Result<Option<String>, TrackingSourceError> {
    let Some(address) = opt_object(event, "address", path)? else {
        return Ok(None);
    };
    let address_path = format!("{path}.address");
    let mut parts = Vec::new();
    for key in ["city", "state", "country"] {
        if let Some(part) = opt_text(address, key, &address_path)?
            && !parts.contains(&part)
        {
            parts.push(part);
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join(", ")))
}

/// An ISO 8601 / RFC 3339 date-time WITH an offset, in UTC; `None` otherwise (no offset,
/// not a date, or a year outside 2000–2100).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    YEARS.contains(&at.year()).then_some(at)
}

// ----- push -----

/// The `sign` header value for `body`: hex SHA-256 of the body, `/`, and the key.
pub fn sign(body: &[u8], key: &str) -> String {
    let digest = digest(body, key);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(body: &[u8], key: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"/");
    hasher.update(key.as_bytes());
    hasher.finalize().into()
}

/// Two hex digits as a byte.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}

/// Checks the `sign` header against the raw body, in constant time. Refused when the header
/// is missing, is not 64 hex digits, or does not match.
pub fn verify_sign(headers: &[(String, String)], body: &[u8], key: &str) -> Result<(), TrackingSourceError> {
    let mut signs = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(SIGN_HEADER));
    let header = match (signs.next(), signs.next()) {
        (Some((_, value)), None) => value.trim(),
        (None, _) => return Err(TrackingSourceError::Refused("push without a sign header".to_string())),
        (Some(_), Some(_)) => {
            return Err(TrackingSourceError::Refused(
                "push with more than one sign header".to_string(),
            ));
        }
    };
    let bytes = header.as_bytes();
    if bytes.len() != 64 {
        return Err(TrackingSourceError::Refused(
            "the sign header is not a hex SHA-256 digest".to_string(),
        ));
    }
    let mut given = [0u8; 32];
    for (slot, pair) in given.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = hex_byte(pair)
            .ok_or_else(|| TrackingSourceError::Refused("the sign header is not a hex SHA-256 digest".to_string()))?;
    }
    if bool::from(digest(body, key).ct_eq(&given)) {
        Ok(())
    } else {
        Err(TrackingSourceError::Refused(
            "the sign header does not match the body".to_string(),
        ))
    }
}

/// A push body, after its signature was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Push {
    /// `TRACKING_UPDATED`: the parcels it carries.
    Updated(Vec<ReadParcel>),
    /// `TRACKING_STOPPED`: 17TRACK stopped following these numbers.
    Stopped(Vec<String>),
    /// Another event (its name): nothing to read.
    Other(String),
}

/// Reads a push body (its signature is checked by [`verify_sign`] first): `{event, data}`
/// with `data` one tracked number, or (read as well) an array of them.
pub fn parse_push(body: &[u8]) -> Result<Push, TrackingSourceError> {
    let value = json(body)?;
    let push = object(&value, "body")?;
    let event = required_text(push, "event", "body")?;
    let items: Vec<&Value> = match push.get("data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        None | Some(Value::Null) if event != TRACKING_UPDATED => Vec::new(),
        None | Some(Value::Null) => return Err(malformed("body.data", "missing")),
        Some(other) => return Err(malformed("body.data", format!("{} is not an object", kind(other)))),
    };
    if items.len() > MAX_PARCELS {
        return Err(malformed("body.data", format!("more than {MAX_PARCELS} parcels")));
    }
    let path = |i: usize| {
        if matches!(push.get("data"), Some(Value::Array(_))) {
            format!("body.data[{i}]")
        } else {
            "body.data".to_string()
        }
    };
    match event.as_str() {
        TRACKING_UPDATED => items
            .iter()
            .enumerate()
            .map(|(i, item)| read_parcel(object(item, &path(i))?, &path(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Push::Updated),
        TRACKING_STOPPED => items
            .iter()
            .enumerate()
            .map(|(i, item)| required_text(object(item, &path(i))?, "number", &path(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Push::Stopped),
        _ => Ok(Push::Other(cut(&event, 64))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use time::macros::datetime;

    const KEY: &str = "test-security-key";

    fn body(value: &Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn event(time_iso: Value, sub_status: &str, description: &str, location: Value) -> Value {
        json!({
            "time_iso": time_iso,
            "time_utc": null,
            "description": description,
            "location": location,
            "stage": null,
            "sub_status": sub_status,
        })
    }

    /// A parcel in the middle of a Shenzhen → Lyon journey, newest first, written for these
    /// tests.
    fn journey() -> Value {
        json!({
            "number": "LX204518733CN",
            "carrier": 3011,
            "param": null,
            "tag": "order-77",
            "track_info": {
                "latest_status": {"status": "InTransit", "sub_status": "InTransit_CustomsProcessing"},
                "time_metrics": {"estimated_delivery_date": {"source": "17TRACK", "from": "2025-04-10T00:00:00+02:00", "to": "2025-04-14T00:00:00+02:00"}},
                "tracking": {"providers": [
                    {"provider": {"key": 3011, "name": "China Post"}, "events": [
                        event(json!("2025-04-03T09:12:00+02:00"), "InTransit_CustomsProcessing", "Held for import clearance", json!("Paris-Roissy, FR")),
                        {"time_iso": "2025-04-01T23:40:00+08:00", "time_utc": "2025-04-01T15:40:00Z", "description": "Left the export hub", "location": "", "stage": "Departure", "sub_status": "InTransit_Departure", "address": {"city": "Shenzhen", "state": "Guangdong", "country": "CN"}},
                        event(json!("2025-03-31T10:05:00+08:00"), "InTransit_PickedUp", "Collected from the seller", json!("Shenzhen, CN")),
                        event(json!("2025-03-31T10:05:00+08:00"), "InTransit_PickedUp", "Collected from the seller", json!("Shenzhen, CN")),
                        event(json!("2025-03-30T18:00:00+08:00"), "InfoReceived", "Electronic notice received", Value::Null),
                    ]}
                ]}
            }
        })
    }

    fn answer(accepted: Vec<Value>, rejected: Vec<Value>) -> Vec<u8> {
        body(&json!({"code": 0, "data": {"accepted": accepted, "rejected": rejected}}))
    }

    fn tracked(body: &[u8], number: &str) -> ReadParcel {
        match parse_track_info(body, number).unwrap() {
            TrackAnswer::Tracked(read) => read,
            other => panic!("not tracked: {other:?}"),
        }
    }

    #[test]
    fn a_delay_notice_keeps_the_parcel_where_it_was() {
        let mut parcel = journey();
        let events = parcel["track_info"]["tracking"]["providers"][0]["events"]
            .as_array_mut()
            .unwrap();
        events.insert(
            0,
            event(
                json!("2025-04-04T10:00:00+02:00"),
                "Exception_Delayed",
                "Clearance takes longer",
                json!("Paris-Roissy, FR"),
            ),
        );
        let read = tracked(&answer(vec![parcel], vec![]), "LX204518733CN");
        let delay = read
            .parcel
            .events
            .iter()
            .find(|e| e.note.as_deref() == Some("Clearance takes longer"))
            .unwrap();
        assert_eq!(delay.state, ShipmentState::Customs);
        assert!(read.parcel.events.iter().all(|e| e.state != ShipmentState::Exception));
    }

    #[test]
    fn a_journey_is_normalized_to_utc_with_locations_and_duplicates_kept() {
        let read = tracked(&answer(vec![journey()], vec![]), "lx 204518733 cn");
        let parcel = &read.parcel;
        assert_eq!(parcel.tracking_number, "LX204518733CN");
        assert_eq!(parcel.carrier.as_deref(), Some("3011"));
        assert_eq!(parcel.estimated_delivery, Some(datetime!(2025-04-13 22:00 UTC)));
        let states: Vec<_> = parcel.events.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                ShipmentState::Customs,
                ShipmentState::InTransit,
                ShipmentState::InTransit,
                ShipmentState::InTransit,
                ShipmentState::InfoReceived
            ]
        );
        assert_eq!(parcel.events[0].at, datetime!(2025-04-03 07:12 UTC));
        assert_eq!(parcel.events[0].at.offset(), time::UtcOffset::UTC);
        assert_eq!(parcel.events[0].location.as_deref(), Some("Paris-Roissy, FR"));
        // A blank location is built from the address.
        assert_eq!(parcel.events[1].location.as_deref(), Some("Shenzhen, Guangdong, CN"));
        assert_eq!(parcel.events[1].at, datetime!(2025-04-01 15:40 UTC));
        assert_eq!(parcel.events[2], parcel.events[3], "duplicates are passed as they come");
        assert_eq!(parcel.events[4].location, None);
        assert_eq!(parcel.events[4].note.as_deref(), Some("Electronic notice received"));
        assert_eq!(read.unreadable_times, 0);
        assert_eq!(read.latest_status.as_deref(), Some("InTransit"));
    }

    #[test]
    fn every_known_sub_status_has_its_state() {
        use ShipmentState as S;
        let table = [
            ("InfoReceived", S::InfoReceived),
            ("InTransit_PickedUp", S::InTransit),
            ("InTransit_Other", S::InTransit),
            ("InTransit_Departure", S::InTransit),
            ("InTransit_Arrival", S::InTransit),
            ("InTransit_CustomsProcessing", S::Customs),
            ("InTransit_CustomsReleased", S::InTransit),
            ("InTransit_CustomsRequiringInformation", S::Customs),
            ("Expired_Other", S::Expired),
            ("AvailableForPickup_Other", S::OutForDelivery),
            ("OutForDelivery_Other", S::OutForDelivery),
            ("DeliveryFailure_Other", S::AttemptFailed),
            ("DeliveryFailure_NoBody", S::AttemptFailed),
            ("DeliveryFailure_Security", S::AttemptFailed),
            ("DeliveryFailure_Rejected", S::AttemptFailed),
            ("DeliveryFailure_InvalidAddress", S::AttemptFailed),
            ("Delivered_Other", S::Delivered),
            ("Exception_Other", S::Exception),
            ("Exception_Returning", S::Exception),
            ("Exception_Returned", S::ReturnedToSender),
            ("Exception_NoBody", S::Exception),
            ("Exception_Security", S::Exception),
            ("Exception_Damage", S::Exception),
            ("Exception_Rejected", S::Exception),
            ("Exception_Lost", S::Exception),
            ("Exception_Destroyed", S::Exception),
            ("Exception_Cancel", S::Exception),
        ];
        for (sub, state) in table {
            assert_eq!(
                event_state(Some(sub), None),
                Some((state, Classification::SubStatus)),
                "{sub}"
            );
        }
        assert_eq!(
            event_state(Some("Exception_Delayed"), None),
            Some((S::InTransit, Classification::Delay))
        );
        assert_eq!(event_state(Some("NotFound_Other"), None), None);
        assert_eq!(event_state(Some("NotFound_InvalidCode"), Some("Delivered")), None);
    }

    #[test]
    fn unknown_sub_statuses_fall_back_to_main_status_then_stage_then_in_transit() {
        use ShipmentState as S;
        assert_eq!(
            event_state(Some("Delivered_Locker"), None),
            Some((S::Delivered, Classification::MainStatus))
        );
        assert_eq!(event_state(Some("NotFound_Something"), None), None);
        assert_eq!(
            event_state(Some("Teleported_Other"), Some("OutForDelivery")),
            Some((S::OutForDelivery, Classification::Stage))
        );
        assert_eq!(
            event_state(None, Some("Returned")),
            Some((S::ReturnedToSender, Classification::Stage))
        );
        assert_eq!(
            event_state(Some(""), Some("")),
            Some((S::InTransit, Classification::Unclassified))
        );
        assert_eq!(
            event_state(Some("Teleported"), None),
            Some((S::InTransit, Classification::Unclassified))
        );
    }

    #[test]
    fn unreadable_times_are_dropped_and_counted_and_all_unreadable_is_malformed() {
        let mut parcel = journey();
        let events = parcel["track_info"]["tracking"]["providers"][0]["events"]
            .as_array_mut()
            .unwrap();
        // No offset, and no UTC time: the zone is unknown.
        events[0]["time_iso"] = json!("2025-04-03T09:12:00");
        // Not a date at all.
        events[4]["time_iso"] = json!("yesterday");
        // A zero date.
        events[2]["time_iso"] = json!("0001-01-01T00:00:00+00:00");
        let read = tracked(&answer(vec![parcel.clone()], vec![]), "LX204518733CN");
        assert_eq!(read.unreadable_times, 3);
        assert_eq!(read.parcel.events.len(), 2);

        for event in parcel["track_info"]["tracking"]["providers"][0]["events"]
            .as_array_mut()
            .unwrap()
        {
            event["time_iso"] = json!("2025-13-45T99:00:00+00:00");
            event["time_utc"] = Value::Null;
        }
        assert_eq!(
            parse_track_info(&answer(vec![parcel], vec![]), "LX204518733CN"),
            Err(TrackingSourceError::Malformed(
                "data.accepted[0]: none of its 5 events has a readable time".into()
            ))
        );
    }

    #[test]
    fn the_utc_time_is_used_when_the_local_one_has_no_offset() {
        let parcel = json!({"number": "A1", "track_info": {"tracking": {"providers": [{"events": [
            {"time_iso": "2025-05-02T08:00:00", "time_utc": "2025-05-02T00:00:00Z", "sub_status": "Delivered_Other", "description": "Left at the door"}
        ]}]}}});
        let read = tracked(&answer(vec![parcel], vec![]), "A1");
        assert_eq!(read.parcel.events[0].at, datetime!(2025-05-02 00:00 UTC));
        assert_eq!(read.parcel.events[0].state, ShipmentState::Delivered);
        assert_eq!(read.parcel.carrier, None);
    }

    #[test]
    fn latest_event_stands_in_when_no_provider_has_events_and_not_found_is_nothing_yet() {
        let parcel = json!({"number": "B2", "carrier": 0, "track_info": {
            "latest_status": {"status": "Delivered", "sub_status": "Delivered_Other"},
            "latest_event": {"time_utc": "2025-06-01T12:00:00Z", "sub_status": "Delivered_Other", "description": "Delivered"},
            "tracking": {"providers": []}}});
        let read = tracked(&answer(vec![parcel], vec![]), "B2");
        assert_eq!(read.parcel.events.len(), 1);
        assert!(!read.nothing_yet());

        let fresh = json!({"number": "C3", "track_info": {"latest_status": {"status": "NotFound", "sub_status": "NotFound_Other"}, "latest_event": null, "tracking": {"providers": [{"events": []}]}}});
        let read = tracked(&answer(vec![fresh], vec![]), "C3");
        assert!(read.nothing_yet());
        assert!(!read.invalid_number());
        let no_info = json!({"number": "D4", "track_info": null});
        assert!(tracked(&answer(vec![no_info], vec![]), "D4").nothing_yet());
        let invalid = json!({"number": "E5", "track_info": {"latest_status": {"status": "NotFound", "sub_status": "NotFound_InvalidCode"}}});
        assert!(tracked(&answer(vec![invalid], vec![]), "E5").invalid_number());
    }

    #[test]
    fn register_outcomes() {
        let accepted = answer(vec![json!({"origin": 1, "number": "RX1", "carrier": 190271})], vec![]);
        assert_eq!(
            parse_register(&accepted, "RX1"),
            Ok(Registration::Accepted { carrier: Some(190_271) })
        );
        let again = answer(
            vec![],
            vec![json!({"number": "RX1", "error": {"code": -18019901, "message": "registered before"}})],
        );
        assert_eq!(parse_register(&again, "RX1"), Ok(Registration::AlreadyRegistered));
        let refused = answer(
            vec![],
            vec![json!({"number": "RX1", "error": {"code": "-18019903", "message": "no carrier"}})],
        );
        assert_eq!(
            parse_register(&refused, "RX1"),
            Ok(Registration::Rejected {
                code: CARRIER_NOT_DETECTED,
                message: "no carrier".into()
            })
        );
    }

    #[test]
    fn error_codes_map_to_the_port_errors() {
        use TrackingSourceError as E;
        assert!(matches!(error_for_code(-18_010_002, "bad key"), E::Misconfigured(m) if m.contains("bad key")));
        assert!(matches!(error_for_code(-18_010_001, ""), E::Misconfigured(_)));
        assert!(matches!(error_for_code(QUOTA_EXHAUSTED, ""), E::Misconfigured(_)));
        assert!(matches!(error_for_code(INTERNAL_ERROR, ""), E::Retryable(_)));
        assert!(matches!(error_for_code(NO_TRACKING_YET, ""), E::NotYet(_)));
        assert!(matches!(error_for_code(CARRIER_NOT_DETECTED, ""), E::Refused(_)));
        assert!(matches!(error_for_code(CARRIER_CODE_INVALID, ""), E::Refused(_)));
        assert!(matches!(error_for_code(-18_010_012, ""), E::Refused(_)));
        assert!(matches!(error_for_code(-1, ""), E::Refused(m) if m == "17TRACK code -1"));
        assert!(matches!(error_for_code(DAILY_LIMIT, ""), E::RateLimited { .. }));
        let envelope = body(
            &json!({"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "Invalid security key."}]}}),
        );
        assert!(
            matches!(parse_track_info(&envelope, "X"), Err(E::Misconfigured(m)) if m.contains("Invalid security key."))
        );
        assert_eq!(
            error_envelope(&envelope),
            Some((-18_010_002, "Invalid security key.".into()))
        );
        assert_eq!(error_envelope(b"<html>"), None);
    }

    #[test]
    fn malformed_answers_name_the_field() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "body is not JSON"),
            (body(&json!([1])), "body is not a JSON object"),
            (body(&json!({"data": {}})), "body.code: missing"),
            (body(&json!({"code": 0, "data": []})), "data: an array is not an object"),
            (
                body(&json!({"code": 0, "data": {"accepted": {}}})),
                "data.accepted: an object is not an array",
            ),
            (
                answer(vec![json!({"number": 7})], vec![]),
                "data.accepted[0].number: a number is not text",
            ),
            (answer(vec![], vec![]), "neither accepted nor rejected holds the number"),
            (
                answer(vec![json!({"number": "N1", "carrier": -4})], vec![]),
                "data.accepted[0].carrier: -4 is not a carrier code",
            ),
            (
                answer(
                    vec![json!({"number": "N1", "track_info": {"tracking": {"providers": [{"events": [7]}]}}})],
                    vec![],
                ),
                "data.accepted[0].track_info.tracking.providers[0].events[0]: a number is not an object",
            ),
            (
                answer(
                    vec![
                        json!({"number": "N1", "track_info": {"tracking": {"providers": [{"events": [{"time_utc": "2025-01-01T00:00:00Z", "description": ["x"]}]}]}}}),
                    ],
                    vec![],
                ),
                "data.accepted[0].track_info.tracking.providers[0].events[0].description: an array is not text",
            ),
            (
                answer(vec![], vec![json!({"number": "N1"})]),
                "data.rejected[0].error: missing",
            ),
        ];
        for (body, expected) in cases {
            match parse_track_info(&body, "N1") {
                Err(TrackingSourceError::Malformed(message)) => {
                    assert!(message.contains(expected), "{message:?} should contain {expected:?}")
                }
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_events_are_refused() {
        let events: Vec<Value> = (0..=MAX_EVENTS)
            .map(|_| json!({"time_utc": "2025-01-01T00:00:00Z", "sub_status": "InTransit_Other"}))
            .collect();
        let parcel = json!({"number": "N1", "track_info": {"tracking": {"providers": [{"events": events}]}}});
        assert!(matches!(
            parse_track_info(&answer(vec![parcel], vec![]), "N1"),
            Err(TrackingSourceError::Malformed(m)) if m.contains("more than")
        ));
    }

    fn signed(body: &[u8]) -> Vec<(String, String)> {
        vec![
            ("content-type".to_string(), "application/json".to_string()),
            (SIGN_HEADER.to_string(), sign(body, KEY)),
        ]
    }

    #[test]
    fn signatures_are_checked_on_the_raw_body() {
        let push = body(&json!({"event": "TRACKING_UPDATED", "data": journey()}));
        assert_eq!(verify_sign(&signed(&push), &push, KEY), Ok(()));
        // Upper-case hex is the same digest.
        let upper = vec![(SIGN_HEADER.to_string(), sign(&push, KEY).to_uppercase())];
        assert_eq!(verify_sign(&upper, &push, KEY), Ok(()));
        let mut tampered = push.clone();
        let at = tampered.len() / 2;
        tampered[at] ^= 0x01;
        assert!(matches!(
            verify_sign(&signed(&push), &tampered, KEY),
            Err(TrackingSourceError::Refused(_))
        ));
        assert!(matches!(
            verify_sign(&signed(&push), &push, "another-key"),
            Err(TrackingSourceError::Refused(_))
        ));
        assert!(matches!(verify_sign(&[], &push, KEY), Err(TrackingSourceError::Refused(m)) if m.contains("without")));
        let short = vec![(SIGN_HEADER.to_string(), "abc".to_string())];
        assert!(matches!(
            verify_sign(&short, &push, KEY),
            Err(TrackingSourceError::Refused(_))
        ));
        let not_hex = vec![(SIGN_HEADER.to_string(), "zz".repeat(32))];
        assert!(matches!(
            verify_sign(&not_hex, &push, KEY),
            Err(TrackingSourceError::Refused(_))
        ));
        let mut twice = signed(&push);
        twice.push((SIGN_HEADER.to_string(), sign(&push, KEY)));
        assert!(matches!(
            verify_sign(&twice, &push, KEY),
            Err(TrackingSourceError::Refused(_))
        ));
    }

    #[test]
    fn push_events() {
        let updated = body(&json!({"event": "TRACKING_UPDATED", "data": journey()}));
        match parse_push(&updated).unwrap() {
            Push::Updated(parcels) => {
                assert_eq!(parcels.len(), 1);
                assert_eq!(parcels[0].parcel.events.len(), 5);
            }
            other => panic!("{other:?}"),
        }
        let several = body(&json!({"event": "TRACKING_UPDATED", "data": [journey(), {"number": "Z9"}]}));
        assert!(matches!(parse_push(&several), Ok(Push::Updated(p)) if p.len() == 2));
        let stopped = body(&json!({"event": "TRACKING_STOPPED", "data": {"number": "LX204518733CN", "carrier": 3011}}));
        assert_eq!(parse_push(&stopped), Ok(Push::Stopped(vec!["LX204518733CN".into()])));
        let other = body(&json!({"event": "QUOTA_LOW", "data": null}));
        assert_eq!(parse_push(&other), Ok(Push::Other("QUOTA_LOW".into())));
        assert!(
            matches!(parse_push(br#"{"data": {}}"#), Err(TrackingSourceError::Malformed(m)) if m.contains("body.event"))
        );
        assert!(matches!(
            parse_push(br#"{"event": "TRACKING_UPDATED"}"#),
            Err(TrackingSourceError::Malformed(_))
        ));
        assert!(matches!(
            parse_push(br#"{"event": "TRACKING_UPDATED", "data": [{"carrier": 1}]}"#),
            Err(TrackingSourceError::Malformed(m)) if m.contains("body.data[0].number")
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_register(&bytes, "N1");
            let _ = parse_track_info(&bytes, "N1");
            let _ = parse_push(&bytes);
            let _ = verify_sign(&signed(&bytes), &bytes, KEY);
            let _ = error_envelope(&bytes);
        }

        #[test]
        fn mutated_journeys_never_panic(flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..8), cut_at in any::<proptest::sample::Index>()) {
            let mut bytes = body(&json!({"event": "TRACKING_UPDATED", "data": journey()}));
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let cut = cut_at.index(bytes.len() + 1);
            bytes.truncate(cut);
            let _ = parse_track_info(&bytes, "LX204518733CN");
            if let Ok(Push::Updated(parcels)) = parse_push(&bytes) {
                for read in parcels {
                    for event in read.parcel.events {
                        prop_assert_eq!(event.at.offset(), time::UtcOffset::UTC);
                        prop_assert!(event.note.is_none_or(|n| n.chars().count() <= NOTE_CHARS));
                    }
                }
            }
        }

        #[test]
        fn journeys_with_values_of_other_types_never_panic(
            at in any::<proptest::sample::Index>(),
            replacement in prop_oneof![
                Just(Value::Null),
                Just(json!(7)),
                Just(json!(-18019902)),
                Just(json!(1.5)),
                Just(json!(true)),
                Just(json!("")),
                Just(json!("2025-02-30T25:61:00+14:00")),
                Just(json!([])),
                Just(json!({})),
                ".{0,40}".prop_map(Value::String),
            ],
        ) {
            fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
                match value {
                    Value::Object(map) => map.iter().for_each(|(k, v)| {
                        let path = format!("{here}/{k}");
                        out.push(path.clone());
                        pointers(v, path, out);
                    }),
                    Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| {
                        let path = format!("{here}/{i}");
                        out.push(path.clone());
                        pointers(v, path, out);
                    }),
                    _ => {}
                }
            }
            let mut push = json!({"event": "TRACKING_UPDATED", "data": journey()});
            let mut all = Vec::new();
            pointers(&push, String::new(), &mut all);
            let pointer = &all[at.index(all.len())];
            if let Some(slot) = push.pointer_mut(pointer) {
                *slot = replacement;
            }
            let _ = parse_push(&body(&push));
            let data = push.get("data").cloned().unwrap_or(Value::Null);
            let _ = parse_track_info(&answer(vec![data], vec![]), "LX204518733CN");
        }

        #[test]
        fn any_time_text_never_panics(text in ".{0,64}") {
            if let Some(at) = parse_time(&text) {
                prop_assert_eq!(at.offset(), time::UtcOffset::UTC);
            }
        }
    }
}

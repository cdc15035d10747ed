//! Parcel tracking: the `data` of `GET /logistic/trackInfo?trackNumber=…` (one entry per
//! tracking number asked for).
//!
//! CJ's tracking schema is only known from the example on its logistics page, so every field
//! but the tracking number is optional and the status is kept as CJ's text.

use super::envelope::{self, CjError};
use super::values::{self, Fields};
use serde_json::Value;
use time::PrimitiveDateTime;
use time::macros::format_description;

/// What CJ knows about one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    /// The tracking number asked for (`trackingNumber`, or `trackNumber`).
    pub tracking_number: String,
    /// CJ's shipping method (`logisticName`), when given.
    pub logistic_name: Option<String>,
    /// Ship-from country code (`trackingFrom`), when given.
    pub from_country: Option<String>,
    /// Ship-to country code (`trackingTo`), when given.
    pub to_country: Option<String>,
    /// Days in transit (`deliveryDay`), when given.
    pub delivery_days: Option<u32>,
    /// `deliveryTime` as CJ prints it (`2021-06-17 07:04:04`), without an offset: CJ does not
    /// say which zone it is in.
    pub delivery_time: Option<PrimitiveDateTime>,
    /// CJ's status text (`trackingStatus`, e.g. `In transit`), when given.
    pub status: Option<String>,
    /// The carrier of the last mile (`lastMileCarrier`), when given.
    pub last_mile_carrier: Option<String>,
    /// That carrier's own tracking number (`lastTrackNumber`), when given.
    pub last_mile_tracking_number: Option<String>,
}

/// Reads a `trackInfo` response body.
pub fn parse_track_info(body: &[u8]) -> Result<Vec<TrackInfo>, CjError> {
    let items: Vec<Value> = envelope::parse(body)?;
    values::each(&items, read_track_info)
}

fn read_track_info(item: &Fields<'_>) -> Result<TrackInfo, CjError> {
    let tracking_number = match item.text("trackingNumber")? {
        Some(number) => number,
        None => item
            .text("trackNumber")?
            .ok_or_else(|| item.missing("trackingNumber", ""))?,
    };
    Ok(TrackInfo {
        tracking_number,
        logistic_name: item.text("logisticName")?,
        from_country: item.text("trackingFrom")?,
        to_country: item.text("trackingTo")?,
        delivery_days: item.count("deliveryDay")?,
        delivery_time: item
            .text("deliveryTime")?
            .map(|text| {
                let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
                PrimitiveDateTime::parse(&text, format).map_err(|_| {
                    item.invalid(
                        "deliveryTime",
                        format!("{text:?} is not a date and time like 2021-06-17 07:04:04"),
                    )
                })
            })
            .transpose()?,
        status: item.text("trackingStatus")?,
        last_mile_carrier: item.text("lastMileCarrier")?,
        last_mile_tracking_number: item.text("lastTrackNumber")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(data: Value) -> Vec<u8> {
        json!({"code": 200, "result": true, "message": "Success", "data": data})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn minimal_entry_with_the_older_field_name_and_numeric_days() {
        let body = ok(json!([{"trackNumber": "CJ1", "deliveryDay": 4, "lastTrackNumber": ""}]));
        let parsed = parse_track_info(&body).expect("tracking");
        assert_eq!(
            parsed,
            vec![TrackInfo {
                tracking_number: "CJ1".into(),
                logistic_name: None,
                from_country: None,
                to_country: None,
                delivery_days: Some(4),
                delivery_time: None,
                status: None,
                last_mile_carrier: None,
                last_mile_tracking_number: None,
            }]
        );
    }

    #[test]
    fn bad_entries_name_the_field() {
        let cases = [
            (json!([{}]), "data[0].trackingNumber: missing"),
            (
                json!([{"trackingNumber": "A"}, {"trackingNumber": "B", "deliveryDay": "-2"}]),
                "data[1].deliveryDay: \"-2\" is not a whole, non-negative number",
            ),
            (
                json!([{"trackingNumber": "A", "deliveryDay": 1.5}]),
                "data[0].deliveryDay: \"1.5\" is not a whole, non-negative number",
            ),
            (
                json!([{"trackingNumber": "A", "deliveryTime": "17/06/2021"}]),
                "data[0].deliveryTime: \"17/06/2021\" is not a date and time like 2021-06-17 07:04:04",
            ),
            (
                json!([{"trackingNumber": ["A"]}]),
                "data[0].trackingNumber: an array is not text",
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(
                parse_track_info(&ok(data.clone())),
                Err(CjError::Malformed(expected.into())),
                "{data}"
            );
        }
    }
}

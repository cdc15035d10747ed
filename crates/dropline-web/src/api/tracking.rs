//! `/tracking/detect`: which carriers a tracking number may belong to and whether it is valid
//! for them (check digit, structure), storing nothing, so a seller can check a number a
//! supplier sent before it goes to the customer.

use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{Input, JsonBody, Problems, ReadJson};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_domain::carrier::{Candidate, Detection, Problem, detect_carrier};
use serde::Serialize;
use utoipa::ToSchema;

/// The longest tracking number taken, spaces included.
pub const MAX_TRACKING_NUMBER_CHARS: usize = 100;

/// A tracking number to identify.
#[derive(ToSchema)]
pub struct TrackingDetectRequest {
    /// The number as printed: spaces are ignored, letters may be in either case (at most 100
    /// characters).
    #[schema(example = "1Z5R89390357567127")]
    pub tracking_number: String,
}

impl ReadJson for TrackingDetectRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let field = input.field("tracking_number");
        let number = field.required(problems, Input::text)?;
        let refusal = if number.trim().is_empty() {
            Some("must not be empty".to_string())
        } else if number.chars().count() > MAX_TRACKING_NUMBER_CHARS {
            Some(format!("must be at most {MAX_TRACKING_NUMBER_CHARS} characters"))
        } else if number.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            Some("must not contain control characters".to_string())
        } else {
            None
        };
        if let Some(reason) = refusal {
            problems.push(field.path(), reason);
            return None;
        }
        Some(Self {
            tracking_number: number,
        })
    }
}

/// Why a number is not valid for a carrier.
#[derive(Serialize, ToSchema)]
#[schema(as = TrackingProblem)]
pub struct ProblemJson {
    /// `check_digit`, `unknown_country` (an S10 country that does not exist) or `wrong_length`.
    #[schema(example = "check_digit")]
    pub kind: String,
    /// The check digit the other characters give, or the length the format has.
    pub expected: Option<String>,
    /// The check digit printed, the number's length, or the S10 country that does not exist.
    pub found: Option<String>,
}

impl From<&Problem> for ProblemJson {
    fn from(problem: &Problem) -> Self {
        match problem {
            Problem::CheckDigit { expected, found } => Self {
                kind: "check_digit".to_string(),
                expected: Some(expected.to_string()),
                found: Some(found.to_string()),
            },
            Problem::UnknownCountry { country } => Self {
                kind: "unknown_country".to_string(),
                expected: None,
                found: Some(country.clone()),
            },
            Problem::WrongLength { expected, found } => Self {
                kind: "wrong_length".to_string(),
                expected: Some((*expected).to_string()),
                found: Some(found.to_string()),
            },
        }
    }
}

/// A carrier the number may belong to.
#[derive(Serialize, ToSchema)]
#[schema(as = TrackingCandidate)]
pub struct CandidateJson {
    /// The carrier's code: `ups`, `usps`, `fedex`, `dhl_express`, `dhl_ecommerce`,
    /// `yunexpress`, `cainiao`, `yanwen`, `4px`, `cj_packet`, ...; for a UPU S10 number the
    /// issuing postal operator (`china_post`, `china_ems`, `royal_mail`, `usps`, ...), or
    /// `s10` for the operators dropline does not name.
    #[schema(example = "ups")]
    pub carrier: String,
    #[schema(example = "UPS")]
    pub name: String,
    /// The number's format (`s10`, `ups`, `usps_impb`, `fedex_express_12`, `yunexpress`, ...).
    #[schema(example = "ups")]
    pub format: String,
    /// How its check digit is computed (`s10`, `mod10`, `mod7`, `mod11`, `luhn`,
    /// `mod37_36`); `none`: the format has no check digit, the number is recognised by its
    /// shape only.
    #[schema(example = "mod10")]
    pub checksum: String,
    /// The check digit is right and the structure complete.
    pub valid: bool,
    /// Why it is not valid, in words.
    #[schema(example = "check digit is 8, the other characters give 7")]
    pub reason: Option<String>,
    /// Why it is not valid, for programs.
    pub problem: Option<ProblemJson>,
    /// The service the number names (S10 service indicator, UPS service code).
    #[schema(example = "Ground")]
    pub service: Option<String>,
    /// The issuing country of an S10 number (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// The carrier's public tracking page of the number (a universal tracker for carriers
    /// whose own page cannot be linked with the number in it).
    #[schema(example = "https://www.ups.com/track?tracknum=1Z5R89390357567127")]
    pub tracking_url: String,
}

impl From<Candidate> for CandidateJson {
    fn from(candidate: Candidate) -> Self {
        Self {
            carrier: candidate.carrier.to_string(),
            name: candidate.name.clone(),
            format: candidate.format.to_string(),
            checksum: candidate.checksum.to_string(),
            valid: candidate.valid,
            reason: candidate.reason(),
            problem: candidate.problem.as_ref().map(ProblemJson::from),
            service: candidate.service,
            country: candidate.country,
            tracking_url: candidate.tracking_url,
        }
    }
}

/// What a tracking number may be.
#[derive(Serialize, ToSchema)]
pub struct TrackingDetection {
    /// The number normalised: spaces removed, upper case.
    #[schema(example = "1Z5R89390357567127")]
    pub tracking_number: String,
    /// Every carrier whose format the number fits: valid ones first, then those with a check
    /// digit, then the likelier carriers. Empty: no format known has this shape.
    pub candidates: Vec<CandidateJson>,
    /// The best candidate's carrier (valid or not); null when there is no candidate.
    #[schema(example = "ups")]
    pub carrier: Option<String>,
    /// Whether the best candidate is valid (false when there is none).
    pub valid: bool,
}

impl From<Detection> for TrackingDetection {
    fn from(detection: Detection) -> Self {
        let carrier = detection.best().map(|best| best.carrier.to_string());
        let valid = detection.is_valid();
        Self {
            tracking_number: detection.tracking_number,
            candidates: detection.candidates.into_iter().map(CandidateJson::from).collect(),
            carrier,
            valid,
        }
    }
}

/// Identifies a tracking number: every carrier whose format it fits, best first, each with
/// whether the number is valid for it (check digit, structure) and why not, the service the
/// number names and the carrier's tracking page. A number of no known format answers 200
/// with no candidate and `valid: false`. Nothing is stored.
#[utoipa::path(
    post, path = "/tracking/detect", tag = "tracking",
    request_body = TrackingDetectRequest,
    responses((status = 200, body = TrackingDetection), BodyErrors, CommonErrors)
)]
pub async fn detect_tracking(Caller(_scope): Caller, body: JsonBody) -> Result<Response, ApiError> {
    let request: TrackingDetectRequest = body.read()?;
    let detection = detect_carrier(&request.tracking_number);
    Ok(reply(StatusCode::OK, TrackingDetection::from(detection)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_app::AppError;
    use serde_json::{Value, json};

    fn refused(body: Value) -> Vec<(String, String)> {
        match JsonBody(body).read::<TrackingDetectRequest>() {
            Ok(_) => Vec::new(),
            Err(ApiError::App(AppError::Invalid(fields))) => fields.into_iter().map(|f| (f.field, f.reason)).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_number_must_be_a_short_non_empty_string() {
        assert!(refused(json!({"tracking_number": "1Z5R89390357567127"})).is_empty());
        assert!(refused(json!({"tracking_number": " 1z5r 8939 0357 5671 27\n"})).is_empty());
        for (body, reason) in [
            (json!({}), "is required"),
            (json!({"tracking_number": null}), "is required"),
            (json!({"tracking_number": 12345}), "must be a string"),
            (json!({"tracking_number": "  "}), "must not be empty"),
            (
                json!({"tracking_number": "9".repeat(101)}),
                "must be at most 100 characters",
            ),
            (
                json!({"tracking_number": "1Z\u{0}5R"}),
                "must not contain control characters",
            ),
        ] {
            assert_eq!(
                refused(body.clone()),
                [("tracking_number".to_string(), reason.to_string())],
                "{body}"
            );
        }
    }

    #[test]
    fn a_detection_names_its_best_candidate() {
        let found = TrackingDetection::from(detect_carrier("rb 123456786 us"));
        assert_eq!(found.tracking_number, "RB123456786US");
        assert_eq!(found.carrier.as_deref(), Some("usps"));
        assert!(!found.valid);
        let best = &found.candidates[0];
        assert_eq!(best.format, "s10");
        assert_eq!(best.problem.as_ref().map(|p| p.kind.as_str()), Some("check_digit"));
        assert_eq!(best.problem.as_ref().and_then(|p| p.expected.as_deref()), Some("5"));
        let none = TrackingDetection::from(detect_carrier("hello"));
        assert_eq!((none.carrier, none.valid, none.candidates.len()), (None, false, 0));
    }
}

//! API errors: a stable code ([`ErrorCode`], with its HTTP status), a message naming the offending value, and
//! the JSON body every error is sent as (`{"error":{"code","message"}}`).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::wire::{ErrorBody, ErrorDetail};

/// `error_codes! { Variant = "CODE", STATUS, "meaning"; … }`: the [`ErrorCode`] enum with its wire string,
/// HTTP status and meaning.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:ident, $meaning:literal;)*) => {
        /// Every `error.code` the API answers with: a closed set, each code with its HTTP status. The wire
        /// form is the `SCREAMING_SNAKE` string ([`ErrorCode::as_str`]), a contract clients match on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order declared.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as sent in `error.code`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status an error with this code is sent with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }

            /// What the code means; the whole message of the errors that carry no detail (`UNAUTHORIZED`,
            /// `RATE_LIMITED`, `METHOD_NOT_ALLOWED`, `INTERNAL`).
            pub fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    // The request as a whole.
    Unauthorized = "UNAUTHORIZED", UNAUTHORIZED, "missing or invalid API key";
    Forbidden = "FORBIDDEN", FORBIDDEN, "this account may not do that to this object";
    NotFound = "NOT_FOUND", NOT_FOUND, "no such object for this account";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED, "method not allowed on this path";
    InvalidBody = "INVALID_BODY", BAD_REQUEST, "the request body is not the JSON object the operation takes";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE, "the request body is larger than the limit";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED_MEDIA_TYPE,
        "the request body is not declared application/json";
    RateLimited = "RATE_LIMITED", TOO_MANY_REQUESTS, "too many requests for this API key; retry after a second";
    Internal = "INTERNAL", INTERNAL_SERVER_ERROR, "internal error";
    // Idempotency keys.
    InvalidIdempotencyKey = "INVALID_IDEMPOTENCY_KEY", BAD_REQUEST,
        "Idempotency-Key must be 1 to 255 visible ASCII characters";
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", UNPROCESSABLE_ENTITY,
        "the Idempotency-Key was used with another method, path or body";
    IdempotencyKeyInProgress = "IDEMPOTENCY_KEY_IN_PROGRESS", CONFLICT,
        "a request with this Idempotency-Key is still running";
    // Query parameters.
    InvalidLimit = "INVALID_LIMIT", BAD_REQUEST, "limit is not a number from 1 to 1000";
    InvalidCursor = "INVALID_CURSOR", BAD_REQUEST, "cursor is not an id of the listed objects";
    MissingParameter = "MISSING_PARAMETER", BAD_REQUEST, "a required query parameter is missing";
    InvalidStatus = "INVALID_STATUS", BAD_REQUEST, "not a peering status";
    InvalidAuditAction = "INVALID_AUDIT_ACTION", BAD_REQUEST, "not an audit action";
    InvalidRole = "INVALID_ROLE", BAD_REQUEST, "not a role (viewer, planner, applier, admin)";
    InvalidTab = "INVALID_TAB", BAD_REQUEST, "a browser tab id is not 1 to 64 letters, digits, - or _";
    // Fields.
    InvalidName = "INVALID_NAME", BAD_REQUEST, "a name is empty, too long or has control characters";
    InvalidUserName = "INVALID_USER_NAME", BAD_REQUEST,
        "a user name is not 1 to 64 lower-case letters, digits and . _ @ -";
    InvalidRegion = "INVALID_REGION", BAD_REQUEST, "not a region name";
    InvalidAvailabilityZone = "INVALID_AVAILABILITY_ZONE", BAD_REQUEST,
        "not an availability zone of the VPC's region";
    InvalidCidr = "INVALID_CIDR", BAD_REQUEST, "not a CIDR block of the kind the field takes";
    CidrOverlap = "CIDR_OVERLAP", BAD_REQUEST, "two blocks of one VPC overlap";
    TooManyCidrBlocks = "TOO_MANY_CIDR_BLOCKS", BAD_REQUEST, "more CIDR blocks than a VPC may have";
    InvalidKind = "INVALID_KIND", BAD_REQUEST, "not a kind of endpoint or gateway";
    InvalidIp = "INVALID_IP", BAD_REQUEST, "not a usable IPv4 address of the subnet";
    InvalidPort = "INVALID_PORT", BAD_REQUEST, "not a port (1-65535), or too many ports";
    InvalidPortRange = "INVALID_PORT_RANGE", BAD_REQUEST,
        "ports for a protocol without ports, or from_port above to_port";
    InvalidProtocol = "INVALID_PROTOCOL", BAD_REQUEST, "not a protocol";
    InvalidDirection = "INVALID_DIRECTION", BAD_REQUEST, "not ingress or egress";
    InvalidRuleAction = "INVALID_RULE_ACTION", BAD_REQUEST, "not allow or deny";
    InvalidRuleNumber = "INVALID_RULE_NUMBER", BAD_REQUEST, "not a rule number (1-32766)";
    InvalidRulePeer = "INVALID_RULE_PEER", BAD_REQUEST,
        "a rule names its peer by exactly one of cidr and security_group_id";
    InvalidRouteTarget = "INVALID_ROUTE_TARGET", BAD_REQUEST,
        "not a peering of the table's VPC or a gateway id";
    InvalidSubnet = "INVALID_SUBNET", BAD_REQUEST, "the subnet cannot hold an endpoint";
    SubnetOutsideVpc = "SUBNET_OUTSIDE_VPC", BAD_REQUEST, "the subnet's block lies outside its VPC's blocks";
    SubnetOtherVpc = "SUBNET_OTHER_VPC", BAD_REQUEST, "the subnet is in another VPC";
    SecurityGroupOtherVpc = "SECURITY_GROUP_OTHER_VPC", BAD_REQUEST, "the security group is in another VPC";
    TooManySecurityGroups = "TOO_MANY_SECURITY_GROUPS", BAD_REQUEST, "more security groups than an endpoint may have";
    /// Renaming a VPC's default security group (deleting it is [`ErrorCode::DefaultSecurityGroup`], 409).
    DefaultSecurityGroupName = "DEFAULT_SECURITY_GROUP", BAD_REQUEST, "the default security group cannot be renamed";
    InvalidPeering = "INVALID_PEERING", BAD_REQUEST, "a VPC cannot peer with itself";
    RegionMismatch = "REGION_MISMATCH", BAD_REQUEST, "the region given is not the VPC's";
    AutoAcceptCrossAccount = "AUTO_ACCEPT_CROSS_ACCOUNT", BAD_REQUEST,
        "auto_accept works only when both VPCs are in the caller's account";
    InvalidPlan = "INVALID_PLAN", BAD_REQUEST, "not a valid peerplan/v1 plan";
    PlanTooLarge = "PLAN_TOO_LARGE", BAD_REQUEST, "the plan is larger than the limit";
    // The state refuses the request.
    SubnetOverlap = "SUBNET_OVERLAP", CONFLICT, "the block overlaps another subnet of the VPC";
    SubnetFull = "SUBNET_FULL", CONFLICT, "the subnet has no free address left";
    IpInUse = "IP_IN_USE", CONFLICT, "the address is already used in the subnet";
    SubnetInUse = "SUBNET_IN_USE", CONFLICT, "the subnet still has endpoints";
    VpcHasPeerings = "VPC_HAS_PEERINGS", CONFLICT, "the VPC has pending or active peering connections";
    MainRouteTable = "MAIN_ROUTE_TABLE", CONFLICT, "a VPC's main route table goes only with the VPC";
    RouteTableInUse = "ROUTE_TABLE_IN_USE", CONFLICT, "subnets are associated with the route table";
    RouteExists = "ROUTE_EXISTS", CONFLICT, "the table already has a route for the destination";
    RouteQuotaExceeded = "ROUTE_QUOTA_EXCEEDED", CONFLICT, "the table has as many routes as it may have";
    GatewayInUse = "GATEWAY_IN_USE", CONFLICT, "routes target the gateway";
    SecurityGroupExists = "SECURITY_GROUP_EXISTS", CONFLICT, "the VPC already has a security group of that name";
    /// Deleting a VPC's default security group (renaming it is [`ErrorCode::DefaultSecurityGroupName`], 400).
    DefaultSecurityGroup = "DEFAULT_SECURITY_GROUP", CONFLICT,
        "a VPC's default security group goes only with the VPC";
    SecurityGroupInUse = "SECURITY_GROUP_IN_USE", CONFLICT,
        "endpoints use the group or rules of other groups name it";
    RuleExists = "RULE_EXISTS", CONFLICT, "the group already has this rule";
    RuleQuotaExceeded = "RULE_QUOTA_EXCEEDED", CONFLICT, "the group has as many rules as it may have";
    DefaultNetworkAcl = "DEFAULT_NETWORK_ACL", CONFLICT, "a VPC's default network ACL goes only with the VPC";
    NetworkAclInUse = "NETWORK_ACL_IN_USE", CONFLICT, "subnets are associated with the network ACL";
    AclEntryExists = "ACL_ENTRY_EXISTS", CONFLICT, "the ACL already has an entry with that number and direction";
    AclEntryQuotaExceeded = "ACL_ENTRY_QUOTA_EXCEEDED", CONFLICT, "the ACL has as many entries as it may have";
    DuplicatePeering = "DUPLICATE_PEERING", CONFLICT, "the VPCs already have a pending or active peering";
    PeeringQuotaExceeded = "PEERING_QUOTA_EXCEEDED", CONFLICT, "a peering quota is reached";
    PeeringNotPending = "PEERING_NOT_PENDING", CONFLICT, "the peering is no longer pending";
    PeeringNotDeletable = "PEERING_NOT_DELETABLE", CONFLICT, "only pending or active peerings can be deleted";
    UserExists = "USER_EXISTS", CONFLICT, "a user of that name already exists";
    /// A plan save based on a version that is no longer current ([`ApiError::VersionConflict`]).
    VersionConflict = "VERSION_CONFLICT", CONFLICT, "someone else saved the plan since the version the save is based on";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// Refused with a code of its own: bad input (400) or a state that forbids the request (409), as the code
    /// says.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// An `Idempotency-Key` reused with another method, path or body (the message says which).
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// A request body larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A request body whose `Content-Type` is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests for this API key; retry after a second")]
    RateLimited,
    /// A plan save based on a version that is no longer current: who saved the current one, and when.
    #[error("{0}")]
    VersionConflict(netmodel::library::VersionConflict),
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),
    /// Stored data that does not read back (a block that does not parse, a status that is none): a 500,
    /// logged with the detail, never shown to the caller.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl ApiError {
    /// Bad input: 400 with a code.
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
        debug_assert_eq!(code.status(), StatusCode::BAD_REQUEST, "{code} is not a 400 code");
        ApiError::Refused {
            code,
            message: message.into(),
        }
    }

    /// A state that refuses the request: 409 with a code.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> ApiError {
        debug_assert_eq!(code.status(), StatusCode::CONFLICT, "{code} is not a 409 code");
        ApiError::Refused {
            code,
            message: message.into(),
        }
    }

    /// The error's code (its HTTP status is the code's).
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::Refused { code, .. } => *code,
            ApiError::IdempotencyKeyReused(_) => ErrorCode::IdempotencyKeyReused,
            ApiError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::RateLimited => ErrorCode::RateLimited,
            ApiError::VersionConflict(_) => ErrorCode::VersionConflict,
            ApiError::Storage(_) | ApiError::Corrupt(_) => ErrorCode::Internal,
        }
    }

    /// Status and stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        let code = self.code();
        (code.status(), code.as_str())
    }
}

/// Longest error message, in characters; the field checks shorten the values they quote well below this.
pub const MAX_MESSAGE: usize = 600;

/// A message cut to [`MAX_MESSAGE`] characters, keeping its start (which names the field) and its end (which
/// says what is wrong), so no error echoes a huge value back.
///
/// ```
/// use controlplane::error::shorten_message;
/// let long = format!("name: \"{}\" is too long", "x".repeat(10_000));
/// let short = shorten_message(long);
/// assert!(short.chars().count() <= 600 && short.starts_with("name: ") && short.ends_with("is too long"));
/// ```
pub fn shorten_message(message: String) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE {
        return message;
    }
    let head: String = message.chars().take(360).collect();
    let tail: String = message.chars().skip(count - 200).collect();
    format!("{head} … [{} characters left out] … {tail}", count - 560)
}

/// The JSON error response for a code (sent with the code's status) and message.
pub fn error_response(code: ErrorCode, message: impl Into<String>) -> Response {
    (
        code.status(),
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.as_str().to_string(),
                message: shorten_message(message.into()),
            },
        }),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::VersionConflict(c) = &self {
            // The conflict's facts as fields of their own, beside the message, so a client can name who saved.
            let code = ErrorCode::VersionConflict;
            return (
                code.status(),
                Json(serde_json::json!({"error": {
                    "code": code.as_str(),
                    "message": c.to_string(),
                    "base_version": c.base_version,
                    "current_version": c.current_version,
                    "saved_by": c.saved_by,
                    "saved_at": c.saved_at,
                }})),
            )
                .into_response();
        }
        let message = match &self {
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                ErrorCode::Internal.message().to_string()
            }
            ApiError::Corrupt(detail) => {
                tracing::error!(detail = %detail, "corrupt stored data");
                ErrorCode::Internal.message().to_string()
            }
            other => other.to_string(),
        };
        error_response(self.code(), message)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn each_code_string_has_one_status_and_the_errors_without_detail_say_their_meaning() {
        let mut seen: HashMap<&str, Vec<ErrorCode>> = HashMap::new();
        for code in ErrorCode::ALL {
            assert!(
                code.as_str().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
            seen.entry(code.as_str()).or_default().push(*code);
        }
        for (text, codes) in seen {
            // One string, one variant; DEFAULT_SECURITY_GROUP alone is 400 on rename and 409 on delete.
            match text {
                "DEFAULT_SECURITY_GROUP" => assert_eq!(codes.len(), 2),
                _ => assert_eq!(codes.len(), 1, "{text} is declared twice"),
            }
        }
        assert_eq!(
            ApiError::Unauthorized.to_string(),
            ErrorCode::Unauthorized.message()
        );
        assert_eq!(
            ApiError::RateLimited.to_string(),
            ErrorCode::RateLimited.message()
        );
        assert_eq!(
            ApiError::conflict(ErrorCode::SubnetInUse, "x").status_and_code(),
            (StatusCode::CONFLICT, "SUBNET_IN_USE")
        );
        assert_eq!(
            ApiError::Corrupt("bad".into()).status_and_code(),
            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL")
        );
    }
}

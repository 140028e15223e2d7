//! Access tokens (HS256 JWT), roles and the caller identity passed along gRPC metadata.
//!
//! HS256 is built from `hmac`/`sha2` (already in the tree through sqlx) instead of a JWT crate:
//! we only ever sign and verify one algorithm, and refusing every other `alg` is the point.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tonic::metadata::{MetadataMap, MetadataValue};

type HmacSha256 = Hmac<Sha256>;

/// JWT payload. `userId` and `exp` are what Enneo clients rely on. The routing fields carry
/// the agent's skills until user profiles own them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub user_id: i64,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    /// Tag ids the agent may be routed; absent means no skill restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_tag_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_tag_ids: Vec<i64>,
    /// Channels the agent is routed tickets of; empty: every channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// The role's resolved permissions (custom roles); absent: those of `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Set on API keys: the key's id, checked on every use so a revoked key stops at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Set on login sessions: the user's current identity is re-read on every use, so role,
    /// team and permission changes (and deleting the user) take effect at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not HS256")]
    UnsupportedAlgorithm,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(signing_input.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

pub fn verify(token: &str, secret: &[u8], now_unix: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let header_json = B64.decode(header).map_err(|_| TokenError::Malformed)?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
    if header.alg != "HS256" {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(signing_input(token).as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
    let payload = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now_unix {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// `header.payload`, the part of a JWT the signature covers.
fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map(|(input, _)| input).unwrap_or("")
}

/// Built-in roles until roles live in settings-svc. Base role ids follow the contract
/// (1 Administrator, 2 Agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "admin" | "administrator" => Some(Self::Admin),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
        }
    }

    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Self::Admin => permission::ALL,
            Self::Agent => &[
                permission::READ_TICKETS,
                permission::CREATE_TICKETS,
                permission::UPDATE_TICKETS,
                permission::READ_TICKET_STATS,
                permission::FORWARD_TICKET,
                permission::EXECUTE_AUTO_PROCESSING,
                permission::SEND_REPLIES,
                permission::CREATE_CONVERSATION,
                permission::READ_SETTINGS,
                permission::EXECUTE_INTENT,
                permission::UPDATE_INTENT,
            ],
        }
    }
}

/// Permission names, as the contract spells them where it names one.
pub mod permission {
    pub const READ_TICKETS: &str = "readTickets";
    pub const CREATE_TICKETS: &str = "createTickets";
    pub const UPDATE_TICKETS: &str = "updateTickets";
    /// Writing subject, body, summary, attachments, externalTicketId, … (contract §1.2 (6)).
    pub const UPDATE_TECHNICAL_TICKET_FIELDS: &str = "updateTechnicalTicketFields";
    pub const READ_TICKET_STATS: &str = "readTicketStats";
    pub const FORWARD_TICKET: &str = "forwardTicket";
    /// Triggering AI auto-processing of a ticket.
    pub const EXECUTE_AUTO_PROCESSING: &str = "executeAutoProcessing";
    /// Sending a reply to the customer (drafts and notes need only updateTickets).
    pub const SEND_REPLIES: &str = "allowedToSendReplies";
    /// Recording messages that happened elsewhere.
    pub const CREATE_CONVERSATION: &str = "createConversation";
    /// Hard (GDPR) delete of a ticket.
    pub const DELETE_TICKET: &str = "deleteTicket";
    /// Event ids and traces in the activity trail.
    pub const ACCESS_TECHNICAL_EVENTS: &str = "accessTechnicalEvents";
    /// Reading the tenant's settings (every user: the UI is configured by them).
    pub const READ_SETTINGS: &str = "readSettings";
    pub const UPDATE_CLIENT_SETTINGS: &str = "updateClientSettings";
    /// Credentials in clear (`showSecrets=true`).
    pub const READ_SECRET_SETTINGS: &str = "readSecretSettings";
    /// Creating, changing and deleting other users, and their API keys.
    pub const MANAGE_USERS: &str = "manageUsers";
    /// AI agents and the code they run (user-defined functions included).
    pub const UPDATE_AI_AGENT: &str = "updateAiAgent";
    /// Seeing an agent's executor code with a ticket's real input, to run it locally.
    pub const PREVIEW_EXECUTORS: &str = "previewExecutors";
    /// Running an intent's chosen option (a reply, a close, an executor call).
    pub const EXECUTE_INTENT: &str = "executeIntent";
    /// Correcting an intent's data or status, or deleting it.
    pub const UPDATE_INTENT: &str = "updateIntent";
    /// Reading AI quality checks: test cases, runs, reports.
    pub const AI_QUALITY_CHECK_VIEW: &str = "aiQualityCheckView";
    /// Scheduling and re-running AI quality check runs.
    pub const AI_QUALITY_CHECK_RUN: &str = "aiQualityCheckRun";
    /// Creating, changing, cancelling, deleting and accepting test cases and runs.
    pub const AI_QUALITY_CHECK_EDIT: &str = "aiQualityCheckEdit";
    /// Creating, changing and deleting teams.
    pub const MANAGE_TEAMS: &str = "manageTeams";
    /// Seeing every team, not only the subtrees of one's own.
    pub const VIEW_ALL_TEAMS: &str = "viewAllTeams";
    /// Downloading reporting exports (every ticket and message, in bulk).
    pub const EXPORT_DATA: &str = "exportData";
    /// Event hooks: what leaves the system on which event, and where to.
    pub const EVENT_HOOKS: &str = "eventHooks";
    pub const ALL: &[&str] = &[
        READ_TICKETS,
        CREATE_TICKETS,
        UPDATE_TICKETS,
        UPDATE_TECHNICAL_TICKET_FIELDS,
        READ_TICKET_STATS,
        FORWARD_TICKET,
        EXECUTE_AUTO_PROCESSING,
        SEND_REPLIES,
        CREATE_CONVERSATION,
        DELETE_TICKET,
        ACCESS_TECHNICAL_EVENTS,
        READ_SETTINGS,
        UPDATE_CLIENT_SETTINGS,
        READ_SECRET_SETTINGS,
        UPDATE_AI_AGENT,
        PREVIEW_EXECUTORS,
        EXECUTE_INTENT,
        UPDATE_INTENT,
        AI_QUALITY_CHECK_VIEW,
        AI_QUALITY_CHECK_RUN,
        AI_QUALITY_CHECK_EDIT,
        MANAGE_USERS,
        MANAGE_TEAMS,
        VIEW_ALL_TEAMS,
        EXPORT_DATA,
        EVENT_HOOKS,
    ];
}

/// Who is calling, as the gateway established it. Services trust it because only the gateway
/// reaches them; it travels as gRPC metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: String,
    pub permissions: Vec<String>,
    pub routing: Routing,
}

/// What ticket routing may give the caller (contract §8.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// None: no skill restriction. Some([]): only untagged tickets.
    pub skills: Option<Vec<i64>>,
    pub excluded_tag_ids: Vec<i64>,
    pub required_tag_ids: Vec<i64>,
    /// Empty: tickets of every channel.
    pub channels: Vec<String>,
}

impl Routing {
    pub fn from_claims(claims: &Claims) -> Self {
        Self {
            skills: claims.skills.clone(),
            excluded_tag_ids: claims.excluded_tag_ids.clone(),
            required_tag_ids: claims.required_tag_ids.clone(),
            channels: claims.channels.clone(),
        }
    }
}

const USER_ID: &str = "x-enneo-user-id";
const ROLE: &str = "x-enneo-role";
const PERMISSIONS: &str = "x-enneo-permissions";
const SKILLS: &str = "x-enneo-skills";
const EXCLUDED_TAGS: &str = "x-enneo-excluded-tags";
const REQUIRED_TAGS: &str = "x-enneo-required-tags";
const CHANNELS: &str = "x-enneo-channels";

fn ids_text(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn ids_parse(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|id| id.trim().parse().ok()).collect()
}

impl Caller {
    pub fn from_role(user_id: i64, role: Role) -> Self {
        Self {
            user_id,
            role: role.as_str().to_owned(),
            permissions: role.permissions().iter().map(|p| (*p).to_owned()).collect(),
            routing: Routing::default(),
        }
    }

    pub fn system() -> Self {
        Self {
            user_id: 0,
            role: "system".into(),
            permissions: Vec::new(),
            routing: Routing::default(),
        }
    }

    /// A service acting on its own behalf (recorded as `system`) with exactly `permissions`.
    pub fn service(permissions: &[&str]) -> Self {
        Self {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            ..Self::system()
        }
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Refuses a caller without `permission`.
    pub fn require(&self, permission: &str) -> Result<(), crate::service_error::Error> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(crate::service_error::Error::PermissionDenied(format!(
                "missing permission {permission}"
            )))
        }
    }

    pub fn inject(&self, metadata: &mut MetadataMap) {
        let put = |metadata: &mut MetadataMap, key: &'static str, value: String| {
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(key, value);
            }
        };
        put(metadata, USER_ID, self.user_id.to_string());
        put(metadata, ROLE, self.role.clone());
        put(metadata, PERMISSIONS, self.permissions.join(","));
        if let Some(skills) = &self.routing.skills {
            put(metadata, SKILLS, ids_text(skills));
        }
        put(metadata, EXCLUDED_TAGS, ids_text(&self.routing.excluded_tag_ids));
        put(metadata, REQUIRED_TAGS, ids_text(&self.routing.required_tag_ids));
        put(metadata, CHANNELS, self.routing.channels.join(","));
    }

    /// The caller named in metadata, or `None` when the request carries no identity.
    pub fn extract(metadata: &MetadataMap) -> Option<Self> {
        let get = |key| metadata.get(key).and_then(|v| v.to_str().ok());
        let user_id = get(USER_ID)?.parse().ok()?;
        let role = get(ROLE).unwrap_or_default().to_owned();
        let permissions = get(PERMISSIONS)
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let routing = Routing {
            skills: get(SKILLS).map(ids_parse),
            excluded_tag_ids: get(EXCLUDED_TAGS).map(ids_parse).unwrap_or_default(),
            required_tag_ids: get(REQUIRED_TAGS).map(ids_parse).unwrap_or_default(),
            channels: get(CHANNELS)
                .unwrap_or_default()
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        Some(Self { user_id, role, permissions, routing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { user_id: 7, role: "agent".into(), iat: 0, exp, ..Default::default() }
    }

    #[test]
    fn signed_token_verifies_and_round_trips() {
        let token = sign(&claims(100), b"secret");
        assert_eq!(verify(&token, b"secret", 50), Ok(claims(100)));
    }

    #[test]
    fn wrong_secret_expiry_and_tampering_are_refused() {
        let token = sign(&claims(100), b"secret");
        assert_eq!(verify(&token, b"other", 50), Err(TokenError::BadSignature));
        assert_eq!(verify(&token, b"secret", 100), Err(TokenError::Expired));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let forged_payload = B64.encode(br#"{"userId":1,"role":"admin","iat":0,"exp":999}"#);
        let header = input.split('.').next().unwrap();
        let forged = format!("{header}.{forged_payload}.{sig}");
        assert_eq!(verify(&forged, b"secret", 50), Err(TokenError::BadSignature));
        assert_eq!(verify("a.b", b"secret", 50), Err(TokenError::Malformed));
    }

    #[test]
    fn alg_none_is_refused() {
        let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims(100)).unwrap());
        let token = format!("{header}.{payload}.");
        assert_eq!(verify(&token, b"secret", 50), Err(TokenError::UnsupportedAlgorithm));
    }

    #[test]
    fn caller_survives_metadata() {
        let mut caller = Caller::from_role(3, Role::Agent);
        caller.routing = Routing {
            skills: Some(vec![1, 2]),
            excluded_tag_ids: vec![3],
            required_tag_ids: Vec::new(),
            channels: vec!["chat".into(), "phone".into()],
        };
        let mut md = MetadataMap::new();
        caller.inject(&mut md);
        assert_eq!(Caller::extract(&md), Some(caller));
        assert_eq!(Caller::extract(&MetadataMap::new()), None);
    }

    #[test]
    fn require_refuses_a_missing_permission() {
        let agent = Caller::from_role(3, Role::Agent);
        assert!(agent.require(permission::READ_TICKETS).is_ok());
        let err = agent.require(permission::MANAGE_USERS).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::PermissionDenied);
        assert_eq!(err.to_string(), "missing permission manageUsers");
    }
}

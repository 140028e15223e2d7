//! Closed sets of string values that several services check, and the one check they share.

use crate::service_error::Error;

/// Where a ticket came in (contract: `channel`).
pub const CHANNELS: &[&str] = &["email", "portal", "phone", "letter", "system", "chat", "walkIn"];

/// The channels that have subchannels (mailboxes, chatbots, phone lines, …); `system` and
/// `walkIn` have none.
pub const SUBCHANNEL_CHANNELS: &[&str] = &["email", "chat", "phone", "letter", "portal"];

/// The events of contract §7 that an event hook may subscribe to. Names that no service
/// publishes yet are accepted too: a hook set up for one starts delivering when it appears.
pub const EVENT_TYPES: &[&str] = &[
    // Tickets
    "TicketCreated",
    "TicketResponse",
    "TicketUpdated",
    "TicketRouted",
    "TicketForwarded",
    "TicketDeleted",
    "TicketDueByOverdue",
    "TicketClosedDueToInactivity",
    "NonAiTicketCreated",
    "ConversationCreated",
    "AutoProcessIntent",
    "TestTicketAiQuality",
    // Mail and letters
    "EmailAutoresponder",
    "SendEmail",
    "SendLetter",
    "OcrScanCompleted",
    "NotifySurroundingSystems",
    // Cron
    "CronMinute",
    "CronHour",
    "CronDay",
    "CronWeek",
    // Users and configuration
    "ProfileCreated",
    "ProfileUpdated",
    "ProfileDeleted",
    "AgentRoutingStatusChanged",
    "RoleManagement",
    "SettingChanged",
    "AiAgentChanged",
    "KnowledgeSourceChanged",
    "ScorecardChanged",
    "QualityAssessment",
    "SurveySubmitted",
    // Telephony
    "CallStarted",
    "CallCompleted",
    // Other
    "AiInsightProcess",
    "AiInsightQuestionChanged",
    "ArchiveOldFiles",
    "ContentTranslationPrewarm",
    "StaticTranslationPrewarm",
];

/// `value` as the entry of `allowed` it equals; otherwise an invalid argument naming `field`
/// and every allowed value.
pub fn one_of(field: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str, Error> {
    allowed.iter().copied().find(|a| *a == value).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{field} must be one of {}, got {value:?}",
            allowed.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_outside_the_set_is_refused_with_the_set() {
        assert_eq!(one_of("channel", "chat", CHANNELS).unwrap(), "chat");
        let err = one_of("channel", "fax", SUBCHANNEL_CHANNELS).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"channel must be one of email, chat, phone, letter, portal, got "fax""#
        );
        assert!(SUBCHANNEL_CHANNELS.iter().all(|c| CHANNELS.contains(c)));
    }
}

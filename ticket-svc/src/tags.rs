//! Ticket tags reference settings-svc's tags by id. A tag newly put on a ticket must exist:
//! ticket-svc first looks in its tag cache (fed by `SettingChanged` events, so it knows
//! deleted tags), and asks settings-svc over gRPC (`CheckTags`) about ids the events have not
//! brought yet, so a tag created a moment ago is usable at once. Tags a ticket already has are
//! never re-checked: deleting a tag does not make its tickets unwritable.

use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_common::service_error::{Error, Result};
use enneo_proto::settings::v1 as settings;
use enneo_proto::settings::v1::settings_service_client::SettingsServiceClient;
use sqlx::PgConnection;
use tonic::transport::Channel;

#[derive(Clone)]
pub struct TagCheck {
    settings: SettingsServiceClient<Channel>,
}

/// `1, 2, 3`, for messages.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

impl TagCheck {
    /// Talks to settings-svc at `url` (connects on first use).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self { settings: SettingsServiceClient::new(enneo_common::grpc::channel(url)?) })
    }

    /// Refuses tag ids in `after` but not in `before` that name no tag.
    pub async fn check_added(
        &self,
        conn: &mut PgConnection,
        before: &[i64],
        after: &[i64],
    ) -> Result<()> {
        let mut added: Vec<i64> = after.iter().copied().filter(|t| !before.contains(t)).collect();
        added.sort_unstable();
        added.dedup();
        if added.is_empty() {
            return Ok(());
        }
        let cached: Vec<(i64, bool)> =
            sqlx::query_as("SELECT tag_id, deleted FROM ticket.tag_cache WHERE tag_id = ANY($1)")
                .bind(&added)
                .fetch_all(&mut *conn)
                .await?;
        let deleted: Vec<i64> = cached.iter().filter(|(_, d)| *d).map(|(id, _)| *id).collect();
        if !deleted.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "tag(s) {} were deleted",
                id_list(&deleted)
            )));
        }
        let unseen: Vec<i64> =
            added.into_iter().filter(|id| !cached.iter().any(|(c, _)| c == id)).collect();
        if unseen.is_empty() {
            return Ok(());
        }
        let unknown = self
            .settings
            .clone()
            .check_tags(request(settings::CheckTagsRequest { ids: unseen }, &Caller::system()))
            .await
            .map_err(|status| {
                Error::unavailable_because("tags cannot be checked right now; try again", status)
            })?
            .into_inner()
            .unknown;
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!("tag(s) {} do not exist", id_list(&unknown))))
        }
    }
}

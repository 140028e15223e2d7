//! The gRPC face of settings-svc.

use enneo_common::auth::Caller;
use enneo_common::grpc;
use enneo_common::outbox::Outbox;
use enneo_common::service_error::{Error, Result};
use enneo_proto::settings::v1 as pb;
use enneo_proto::settings::v1::settings_service_server::SettingsService;
use serde_json::Value;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct Settings {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub oauth: crate::oauth::OAuthConfig,
    pub http: reqwest::Client,
    pub hooks: crate::config::HooksConfig,
    /// Wakes the hook delivery loop (a hook turned on again has deliveries waiting).
    pub hooks_wake: std::sync::Arc<tokio::sync::Notify>,
}

/// A key of `POST /settings`.
#[derive(Debug, PartialEq)]
pub enum Key<'a> {
    Setting(&'a str),
    /// `_<kind>[<id>].<prop>`
    Object {
        kind: &'a str,
        id: i64,
        prop: &'a str,
    },
}

pub fn parse_key(key: &str) -> Result<Key<'_>> {
    let Some(rest) = key.strip_prefix('_').filter(|r| r.contains('[')) else {
        return Ok(Key::Setting(key));
    };
    let bad = || Error::InvalidArgument(format!("{key}: expected _<kind>[<id>].<property>"));
    let (kind, rest) = rest.split_once('[').ok_or_else(bad)?;
    let (id, rest) = rest.split_once(']').ok_or_else(bad)?;
    let prop = rest.strip_prefix('.').filter(|p| !p.is_empty()).ok_or_else(bad)?;
    let id = id.parse().map_err(|_| bad())?;
    Ok(Key::Object { kind, id, prop })
}

impl Settings {
    async fn update_one(&self, caller: &Caller, key: &str, value_json: &str) -> Result<()> {
        let value: Value = serde_json::from_str(value_json)
            .map_err(|e| Error::InvalidArgument(format!("not JSON: {e}")))?;
        let mut tx = self.pool.begin().await?;
        match parse_key(key)? {
            Key::Setting(name) => {
                self.write(&mut tx, caller, name, value).await?;
            }
            Key::Object { kind: "subchannel", id, prop } => {
                self.write_subchannel(&mut tx, caller, id, prop, value).await?
            }
            Key::Object { kind: "user-defined-function", id, prop } => {
                self.write_udf(&mut tx, caller, id, prop, value).await?
            }
            Key::Object { kind: "tag", id, prop } => {
                self.write_tag(&mut tx, caller, id, prop, value).await?
            }
            Key::Object { kind: "event-hook", id, prop } => {
                self.write_event_hook(&mut tx, caller, id, prop, value).await?
            }
            Key::Object { kind, .. } => {
                return Err(Error::InvalidArgument(format!("unknown object kind {kind}")));
            }
        }
        self.commit(tx).await
    }
}

#[tonic::async_trait]
impl SettingsService for Settings {
    async fn list_settings(
        &self,
        request: Request<pb::ListSettingsRequest>,
    ) -> Result<Response<pb::ListSettingsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let settings = self.list(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListSettingsResponse { settings }))
    }

    async fn get_setting(
        &self,
        request: Request<pb::GetSettingRequest>,
    ) -> Result<Response<pb::SettingResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let req = request.into_inner();
        let setting = self.get(&caller, &req.name, req.show_secrets).await?;
        Ok(Response::new(pb::SettingResponse { setting: Some(setting) }))
    }

    async fn put_setting(
        &self,
        request: Request<pb::PutSettingRequest>,
    ) -> Result<Response<pb::SettingResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let req = request.into_inner();
        let setting = self.put(&caller, &req.name, &req.value_json).await?;
        Ok(Response::new(pb::SettingResponse { setting: Some(setting) }))
    }

    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> Result<Response<pb::UpdateSettingsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let mut values: Vec<(String, String)> = request.into_inner().values.into_iter().collect();
        values.sort();
        let mut outcomes = Vec::with_capacity(values.len());
        // Each key on its own: permission and validation are per setting, so a batch may
        // partly apply; the answer says what did.
        for (key, value) in values {
            let outcome = match self.update_one(&caller, &key, &value).await {
                Ok(()) => pb::KeyOutcome { key, applied: true, ..Default::default() },
                Err(err) => {
                    let code = err.code();
                    let status = Status::from(err);
                    pb::KeyOutcome {
                        key,
                        applied: false,
                        error: status.message().into(),
                        code: code.as_str().into(),
                    }
                }
            };
            outcomes.push(outcome);
        }
        Ok(Response::new(pb::UpdateSettingsResponse { outcomes }))
    }

    async fn get_category(
        &self,
        request: Request<pb::GetCategoryRequest>,
    ) -> Result<Response<pb::GetCategoryResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.category(&caller, request.into_inner()).await?))
    }

    async fn list_subchannels(
        &self,
        request: Request<pb::ListSubchannelsRequest>,
    ) -> Result<Response<pb::ListSubchannelsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let subchannels = self.subchannels(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListSubchannelsResponse { subchannels }))
    }

    async fn add_subchannel(
        &self,
        request: Request<pb::AddSubchannelRequest>,
    ) -> Result<Response<pb::Subchannel>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.add_subchannel(&caller, request.into_inner()).await?))
    }

    async fn delete_subchannel(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete_subchannel(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn microsoft_authorization(
        &self,
        request: Request<pb::MicrosoftAuthorizationRequest>,
    ) -> Result<Response<pb::MicrosoftAuthorizationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let url = self.microsoft_authorization(&caller, request.get_ref().subchannel_id).await?;
        Ok(Response::new(pb::MicrosoftAuthorizationResponse { url }))
    }

    async fn microsoft_callback(
        &self,
        request: Request<pb::MicrosoftCallbackRequest>,
    ) -> Result<Response<pb::MicrosoftCallbackResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let subchannel_id = self.microsoft_callback(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::MicrosoftCallbackResponse { subchannel_id }))
    }

    async fn list_tags(
        &self,
        request: Request<pb::ListTagsRequest>,
    ) -> Result<Response<pb::ListTagsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let tags = self.tags(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListTagsResponse { tags }))
    }

    async fn create_tag(
        &self,
        request: Request<pb::CreateTagRequest>,
    ) -> Result<Response<pb::CreateTagResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let id = self.create_tag(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::CreateTagResponse { id }))
    }

    async fn delete_tag(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete_tag(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn check_tags(
        &self,
        request: Request<pb::CheckTagsRequest>,
    ) -> Result<Response<pb::CheckTagsResponse>, Status> {
        let unknown = self.unknown_tags(&request.get_ref().ids).await?;
        Ok(Response::new(pb::CheckTagsResponse { unknown }))
    }

    async fn list_udfs(
        &self,
        request: Request<pb::ListUdfsRequest>,
    ) -> Result<Response<pb::ListUdfsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let udfs = self.udfs(&caller, request.get_ref().filter.as_deref()).await?;
        Ok(Response::new(pb::ListUdfsResponse { udfs }))
    }

    async fn add_udf(
        &self,
        request: Request<pb::AddUdfRequest>,
    ) -> Result<Response<pb::Udf>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.add_udf(&caller, request.into_inner()).await?))
    }

    async fn delete_udf(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete_udf(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn list_event_hooks(
        &self,
        request: Request<pb::ListEventHooksRequest>,
    ) -> Result<Response<pb::ListEventHooksResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let event_hooks = self.event_hooks(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListEventHooksResponse { event_hooks }))
    }

    async fn add_event_hook(
        &self,
        request: Request<pb::AddEventHookRequest>,
    ) -> Result<Response<pb::EventHook>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.add_event_hook(&caller, request.into_inner()).await?))
    }

    async fn delete_event_hook(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete_event_hook(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn list_hook_deliveries(
        &self,
        request: Request<pb::ListHookDeliveriesRequest>,
    ) -> Result<Response<pb::ListHookDeliveriesResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.hook_deliveries(&caller, request.into_inner()).await?))
    }
}

#[tonic::async_trait]
impl enneo_proto::settings::v1::identity_service_server::IdentityService for Settings {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::Identity>, Status> {
        Ok(Response::new(Settings::login(self, request.into_inner()).await?))
    }

    async fn list_profiles(
        &self,
        request: Request<pb::ListProfilesRequest>,
    ) -> Result<Response<pb::ListProfilesResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.profiles(&caller, request.into_inner()).await?))
    }

    async fn get_profile(
        &self,
        request: Request<pb::ProfileRef>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.profile(&caller, request.get_ref().id).await?))
    }

    async fn create_profile(
        &self,
        request: Request<pb::CreateProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::create_profile(self, &caller, request.into_inner()).await?))
    }

    async fn update_profile(
        &self,
        request: Request<pb::UpdateProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::update_profile(self, &caller, request.into_inner()).await?))
    }

    async fn delete_profile(
        &self,
        request: Request<pb::ProfileRef>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Settings::delete_profile(self, &caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn update_routing_status(
        &self,
        request: Request<pb::UpdateRoutingStatusRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(
            Settings::update_routing_status(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::create_api_key(self, &caller, request.into_inner()).await?))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ProfileRef>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let keys = self.api_keys(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::ListApiKeysResponse { keys }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::ApiKeyRef>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Settings::revoke_api_key(self, &caller, request.into_inner()).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn check_api_key(
        &self,
        request: Request<pb::ApiKeyRef>,
    ) -> Result<Response<pb::Identity>, Status> {
        Ok(Response::new(Settings::check_api_key(self, request.into_inner()).await?))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let roles = self.roles(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListRolesResponse { roles }))
    }

    async fn get_role(
        &self,
        request: Request<pb::RoleRef>,
    ) -> Result<Response<pb::RoleInfo>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.role(&caller, request.get_ref().id).await?))
    }

    async fn create_role(
        &self,
        request: Request<pb::RoleWrite>,
    ) -> Result<Response<pb::RoleInfo>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::create_role(self, &caller, request.into_inner()).await?))
    }

    async fn update_role(
        &self,
        request: Request<pb::RoleWrite>,
    ) -> Result<Response<pb::RoleInfo>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::update_role(self, &caller, request.into_inner()).await?))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Settings::delete_role(self, &caller, request.into_inner()).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn resolve_identity(
        &self,
        request: Request<pb::ProfileRef>,
    ) -> Result<Response<pb::Identity>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::resolve_identity(self, &caller, request.get_ref().id).await?))
    }

    async fn online_summary(
        &self,
        request: Request<pb::OnlineSummaryRequest>,
    ) -> Result<Response<pb::OnlineSummaryResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::online_summary(self, &caller).await?))
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::list_teams(self, &caller, request.into_inner()).await?))
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::team(self, &caller, request.into_inner()).await?))
    }

    async fn create_team(
        &self,
        request: Request<pb::TeamWrite>,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::create_team(self, &caller, request.into_inner()).await?))
    }

    async fn update_team(
        &self,
        request: Request<pb::TeamWrite>,
    ) -> Result<Response<pb::Team>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(Settings::update_team(self, &caller, request.into_inner()).await?))
    }

    async fn delete_team(
        &self,
        request: Request<pb::TeamRef>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Settings::delete_team(self, &caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_settings_or_object_properties() {
        assert_eq!(parse_key("locale").unwrap(), Key::Setting("locale"));
        assert_eq!(parse_key("_manualAiAgents").unwrap(), Key::Setting("_manualAiAgents"));
        assert_eq!(
            parse_key("_subchannel[12].imapHost").unwrap(),
            Key::Object { kind: "subchannel", id: 12, prop: "imapHost" }
        );
        assert!(parse_key("_subchannel[x].name").is_err());
        assert!(parse_key("_subchannel[1]name").is_err());
        assert!(parse_key("_subchannel[1].").is_err());
    }
}

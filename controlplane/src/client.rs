//! A typed async client for any server that speaks the NFYio `/v1` API. It never follows redirects, has
//! connect and request timeouts, and refuses responses larger than [`MAX_RESPONSE`].

use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::wire;

/// Most pages read from one list (1,000 items each).
pub const MAX_PAGES: usize = 1_000;

/// A query value with everything but unreserved characters percent-encoded.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Largest response body accepted.
pub const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("response larger than {MAX_RESPONSE} bytes")]
    TooLarge,
    #[error("unexpected response ({status}): {body}")]
    Unexpected { status: u16, body: String },
}

impl ClientError {
    /// The API error code, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client bound to a base URL and an API key.
#[derive(Clone)]
pub struct Client {
    base: String,
    key: String,
    http: reqwest::Client,
    /// Sent as `Idempotency-Key` with every POST of this client (see [`Client::idempotent`]).
    idempotency_key: Option<String>,
}

impl Client {
    /// `base` like `http://127.0.0.1:3000` (no trailing `/v1`).
    pub fn new(base: &str, api_key: &str) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            key: api_key.to_string(),
            http,
            idempotency_key: None,
        })
    }

    /// The same server with another account's key.
    pub fn with_key(&self, api_key: &str) -> Client {
        Client {
            key: api_key.to_string(),
            ..self.clone()
        }
    }

    /// The same client, sending `key` as the `Idempotency-Key` of its POSTs: the server runs a POST at most
    /// once per key and replays its first answer to a retry.
    pub fn idempotent(&self, key: &str) -> Client {
        Client {
            idempotency_key: Some(key.to_string()),
            ..self.clone()
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let mut res = req.bearer_auth(&self.key).send().await?;
        let status = res.status().as_u16();
        if res.content_length().is_some_and(|n| n as usize > MAX_RESPONSE) {
            return Err(ClientError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_RESPONSE {
                return Err(ClientError::TooLarge);
            }
        }
        if (200..300).contains(&status) {
            let body = if body.is_empty() { b"null".to_vec() } else { body };
            return serde_json::from_slice(&body).map_err(|_| ClientError::Unexpected {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        match serde_json::from_slice::<wire::ErrorBody>(&body) {
            Ok(e) => Err(ClientError::Api {
                status,
                code: e.error.code,
                message: e.error.message,
            }),
            Err(_) => Err(ClientError::Unexpected {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            }),
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = &self.idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        self.send(req).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.delete(format!("{}{path}", self.base))).await
    }

    async fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn delete_unit(&self, path: &str) -> Result<(), ClientError> {
        self.delete::<serde_json::Value>(path).await.map(|_| ())
    }

    pub async fn create_vpc(&self, req: &wire::CreateVpc) -> Result<wire::Vpc, ClientError> {
        self.post("/v1/vpcs", req).await
    }
    pub async fn get_vpc(&self, id: &str) -> Result<wire::Vpc, ClientError> {
        self.get(&format!("/v1/vpcs/{id}")).await
    }
    /// Every VPC of the account (follows the pages).
    pub async fn list_vpcs(&self) -> Result<Vec<wire::Vpc>, ClientError> {
        self.all("/v1/vpcs?").await
    }
    pub async fn delete_vpc(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/vpcs/{id}")).await
    }
    pub async fn create_subnet(&self, req: &wire::CreateSubnet) -> Result<wire::Subnet, ClientError> {
        self.post("/v1/subnets", req).await
    }
    pub async fn list_subnets(&self) -> Result<Vec<wire::Subnet>, ClientError> {
        self.all("/v1/subnets?").await
    }
    pub async fn create_route_table(&self, vpc_id: &str) -> Result<wire::RouteTable, ClientError> {
        self.post(
            "/v1/route-tables",
            &wire::CreateRouteTable {
                vpc_id: vpc_id.into(),
            },
        )
        .await
    }
    pub async fn get_route_table(&self, id: &str) -> Result<wire::RouteTable, ClientError> {
        self.get(&format!("/v1/route-tables/{id}")).await
    }
    pub async fn list_route_tables(&self) -> Result<Vec<wire::RouteTable>, ClientError> {
        self.all("/v1/route-tables?").await
    }
    pub async fn add_route(
        &self,
        table: &str,
        req: &wire::CreateRoute,
    ) -> Result<wire::RouteTable, ClientError> {
        self.post(&format!("/v1/route-tables/{table}/routes"), req).await
    }
    pub async fn delete_route(
        &self,
        table: &str,
        destination: &str,
    ) -> Result<wire::RouteTable, ClientError> {
        let dest = destination.replace('/', "%2F");
        self.delete(&format!(
            "/v1/route-tables/{table}/routes?destination_cidr={dest}"
        ))
        .await
    }
    pub async fn create_peering(&self, req: &wire::CreatePeering) -> Result<wire::Peering, ClientError> {
        self.post("/v1/vpc-peering", req).await
    }
    pub async fn get_peering(&self, id: &str) -> Result<wire::Peering, ClientError> {
        self.get(&format!("/v1/vpc-peering/{id}")).await
    }
    /// Peerings the account is part of, optionally by status.
    pub async fn list_peerings(&self, status: Option<&str>) -> Result<Vec<wire::Peering>, ClientError> {
        match status {
            Some(s) => self.all(&format!("/v1/vpc-peering?status={s}&")).await,
            None => self.all("/v1/vpc-peering?").await,
        }
    }
    /// Accepts; the operation takes no body, so none is sent (an unread body would cost the connection).
    pub async fn accept_peering(&self, id: &str) -> Result<wire::Peering, ClientError> {
        self.send(
            self.http
                .post(format!("{}/v1/vpc-peering/{id}/accept", self.base)),
        )
        .await
    }
    /// Rejects (no body, as for accepting).
    pub async fn reject_peering(&self, id: &str) -> Result<wire::Peering, ClientError> {
        self.send(
            self.http
                .post(format!("{}/v1/vpc-peering/{id}/reject", self.base)),
        )
        .await
    }
    pub async fn delete_peering(&self, id: &str) -> Result<wire::Peering, ClientError> {
        self.delete(&format!("/v1/vpc-peering/{id}")).await
    }

    pub async fn update_vpc(&self, id: &str, req: &wire::UpdateVpc) -> Result<wire::Vpc, ClientError> {
        self.patch(&format!("/v1/vpcs/{id}"), req).await
    }
    pub async fn get_subnet(&self, id: &str) -> Result<wire::Subnet, ClientError> {
        self.get(&format!("/v1/subnets/{id}")).await
    }
    pub async fn delete_subnet(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/subnets/{id}")).await
    }
    pub async fn delete_route_table(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/route-tables/{id}")).await
    }
    pub async fn associate_route_table(
        &self,
        table: &str,
        subnet_id: &str,
    ) -> Result<wire::RouteTable, ClientError> {
        let body = wire::Association {
            subnet_id: subnet_id.into(),
        };
        self.post(&format!("/v1/route-tables/{table}/associations"), &body)
            .await
    }
    pub async fn disassociate_route_table(
        &self,
        table: &str,
        subnet_id: &str,
    ) -> Result<wire::RouteTable, ClientError> {
        self.delete(&format!("/v1/route-tables/{table}/associations/{subnet_id}"))
            .await
    }
    pub async fn create_security_group(
        &self,
        req: &wire::CreateSecurityGroup,
    ) -> Result<wire::SecurityGroup, ClientError> {
        self.post("/v1/security-groups", req).await
    }
    pub async fn get_security_group(&self, id: &str) -> Result<wire::SecurityGroup, ClientError> {
        self.get(&format!("/v1/security-groups/{id}")).await
    }
    pub async fn list_security_groups(&self) -> Result<Vec<wire::SecurityGroup>, ClientError> {
        self.all("/v1/security-groups?").await
    }
    pub async fn update_security_group(
        &self,
        id: &str,
        req: &wire::UpdateSecurityGroup,
    ) -> Result<wire::SecurityGroup, ClientError> {
        self.patch(&format!("/v1/security-groups/{id}"), req).await
    }
    pub async fn delete_security_group(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/security-groups/{id}")).await
    }
    pub async fn add_sg_rule(
        &self,
        group: &str,
        req: &wire::CreateSgRule,
    ) -> Result<wire::SgRule, ClientError> {
        self.post(&format!("/v1/security-groups/{group}/rules"), req)
            .await
    }
    pub async fn delete_sg_rule(&self, group: &str, rule: &str) -> Result<wire::SecurityGroup, ClientError> {
        self.delete(&format!("/v1/security-groups/{group}/rules/{rule}"))
            .await
    }
    pub async fn create_network_acl(&self, vpc_id: &str) -> Result<wire::NetworkAcl, ClientError> {
        let body = wire::CreateNetworkAcl {
            vpc_id: vpc_id.into(),
        };
        self.post("/v1/network-acls", &body).await
    }
    pub async fn get_network_acl(&self, id: &str) -> Result<wire::NetworkAcl, ClientError> {
        self.get(&format!("/v1/network-acls/{id}")).await
    }
    pub async fn list_network_acls(&self) -> Result<Vec<wire::NetworkAcl>, ClientError> {
        self.all("/v1/network-acls?").await
    }
    pub async fn delete_network_acl(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/network-acls/{id}")).await
    }
    pub async fn add_acl_entry(
        &self,
        acl: &str,
        req: &wire::CreateAclEntry,
    ) -> Result<wire::NetworkAcl, ClientError> {
        self.post(&format!("/v1/network-acls/{acl}/entries"), req).await
    }
    /// `direction`: ingress or egress.
    pub async fn delete_acl_entry(
        &self,
        acl: &str,
        direction: &str,
        rule_number: u16,
    ) -> Result<wire::NetworkAcl, ClientError> {
        self.delete(&format!(
            "/v1/network-acls/{acl}/entries/{direction}/{rule_number}"
        ))
        .await
    }
    pub async fn associate_network_acl(
        &self,
        acl: &str,
        subnet_id: &str,
    ) -> Result<wire::NetworkAcl, ClientError> {
        let body = wire::Association {
            subnet_id: subnet_id.into(),
        };
        self.post(&format!("/v1/network-acls/{acl}/associations"), &body)
            .await
    }
    pub async fn create_endpoint(&self, req: &wire::CreateEndpoint) -> Result<wire::Endpoint, ClientError> {
        self.post("/v1/endpoints", req).await
    }
    pub async fn get_endpoint(&self, id: &str) -> Result<wire::Endpoint, ClientError> {
        self.get(&format!("/v1/endpoints/{id}")).await
    }
    pub async fn list_endpoints(&self) -> Result<Vec<wire::Endpoint>, ClientError> {
        self.all("/v1/endpoints?").await
    }
    pub async fn update_endpoint(
        &self,
        id: &str,
        req: &wire::UpdateEndpoint,
    ) -> Result<wire::Endpoint, ClientError> {
        self.patch(&format!("/v1/endpoints/{id}"), req).await
    }
    pub async fn delete_endpoint(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/endpoints/{id}")).await
    }

    pub async fn create_gateway(&self, req: &wire::CreateGateway) -> Result<wire::Gateway, ClientError> {
        self.post("/v1/gateways", req).await
    }
    pub async fn list_gateways(&self) -> Result<Vec<wire::Gateway>, ClientError> {
        self.all("/v1/gateways?").await
    }
    pub async fn delete_gateway(&self, id: &str) -> Result<(), ClientError> {
        self.delete_unit(&format!("/v1/gateways/{id}")).await
    }

    async fn all<T: DeserializeOwned>(&self, path_with_query: &str) -> Result<Vec<T>, ClientError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let page: wire::Page<T> = self
                .get(&format!("{path_with_query}limit=1000&cursor={cursor}"))
                .await?;
            out.extend(page.items);
            match page.next_cursor {
                // A server that hands back a cursor it gave before would page forever.
                Some(c) if !seen.insert(c.clone()) => {
                    return Err(ClientError::Unexpected {
                        status: 200,
                        body: format!("the server repeated page cursor {c:?}"),
                    })
                }
                Some(c) => cursor = url_escape(&c),
                None => return Ok(out),
            }
        }
        Err(ClientError::Unexpected {
            status: 200,
            body: format!("more than {MAX_PAGES} pages of {path_with_query}"),
        })
    }
}

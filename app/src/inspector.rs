//! The inspector: details of the selected item, editable. A VPC shows its blocks, subnets (add one, with a
//! suggested block; add endpoints), route tables (routes with a target picker limited to valid targets),
//! security-group rules and network-ACL entries; a peering its requester and accepter, accounts, regions,
//! status and DNS option. Every edit is one undo step and re-runs the checks.

use leptos::prelude::*;
use netmodel::{
    cidr::{parse_block, parse_ipv4_block, Cidr},
    ids::{NetworkAclId, PeeringId, RouteTableId, SecurityGroupId, SubnetId, VpcId},
    model::{AclEntry, Action, Direction, EndpointKind, PeeringStatus, Plan, PortRange, SgRule, Target},
};

use crate::editor::Editor;
use netmodel::edit::{self, Item};

/// The inspector panel.
#[component]
pub fn Inspector(editor: Editor) -> impl IntoView {
    let selected = editor.selected;
    view! {
        <section class="inspector panel" aria-label="Inspector">
            <h2>"Inspector"</h2>
            {move || {
                let sel: Vec<Item> = selected.get().into_iter().collect();
                match sel.as_slice() {
                    [] => view! { <p class="muted">"Select a VPC, subnet, endpoint or peering on the canvas."</p> }.into_any(),
                    [Item::Vpc(id)] => view! { <VpcInspector editor id=id.clone()/> }.into_any(),
                    [Item::Peering(id)] => view! { <PeeringInspector editor id=id.clone()/> }.into_any(),
                    [Item::Subnet(id)] => view! { <SubnetInspector editor id=id.clone()/> }.into_any(),
                    [Item::Endpoint(id)] => {
                        let id = id.clone();
                        let text = editor.plan.with(|p| {
                            p.endpoints.iter().find(|e| e.id == id).map(|e| {
                                format!(
                                    "{} · {:?} · {} · ports {} · groups {}",
                                    e.label(),
                                    e.kind,
                                    e.ipv4.map(|a| a.to_string()).unwrap_or_default(),
                                    e.ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                                    e.security_groups.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                                )
                            })
                        });
                        view! {
                            <h3>"Endpoint"</h3>
                            <p data-testid="endpoint-details">{text}</p>
                            <button type="button" class="danger" on:click=move |_| editor.delete_selected()>"Delete endpoint"</button>
                        }.into_any()
                    }
                    many => {
                        let vpcs: Vec<VpcId> = many.iter().filter_map(|i| match i { Item::Vpc(v) => Some(v.clone()), _ => None }).collect();
                        let n = many.len();
                        view! {
                            <p>{format!("{n} items selected.")}</p>
                            {(vpcs.len() == 2).then(|| {
                                let (a, b) = (vpcs[0].clone(), vpcs[1].clone());
                                view! { <button type="button" on:click=move |_| editor.peer(&a, &b)>"Peer these two VPCs"</button> }
                            })}
                            " "
                            <button type="button" class="danger" on:click=move |_| editor.delete_selected()>"Delete selection"</button>
                        }.into_any()
                    }
                }
            }}
        </section>
    }
}

/// A text field that applies its value on Enter or when it loses focus, and shows the error of a bad value.
#[component]
fn Field(
    label: String,
    value: String,
    apply: impl Fn(String) -> Result<(), String> + Clone + Send + Sync + 'static,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    let text = RwSignal::new(value.clone());
    let error = RwSignal::new(String::new());
    let commit = move || {
        let v = text.get_untracked();
        if v == value {
            error.set(String::new());
            return;
        }
        match apply(v) {
            Ok(()) => error.set(String::new()),
            Err(e) => error.set(e),
        }
    };
    let commit2 = commit.clone();
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="text"
                data-testid=testid
                prop:value=move || text.get()
                aria-invalid=move || (!error.get().is_empty()).to_string()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:change=move |_| commit()
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" { commit2() }
            />
            <span class="field-error" role="alert">{move || error.get()}</span>
        </label>
    }
}

fn target_label(t: &Target) -> String {
    t.to_string()
}

fn parse_target(plan: &Plan, rt: &RouteTableId, text: &str) -> Option<Target> {
    edit::valid_targets(plan, rt)
        .into_iter()
        .find(|t| target_label(t) == text)
}

fn parse_ports(text: &str) -> Result<Option<PortRange>, String> {
    let t = text.trim();
    if t.is_empty() || t == "all" {
        return Ok(None);
    }
    t.parse::<PortRange>()
        .map(Some)
        .map_err(|e| format!("ports {t:?}: {e}"))
}

/// A VPC's details.
#[component]
fn VpcInspector(editor: Editor, id: VpcId) -> impl IntoView {
    let plan = editor.plan;
    let Some(vpc) = plan.with_untracked(|p| p.vpc(&id).cloned()) else {
        return view! { <p class="muted">"This VPC no longer exists."</p> }.into_any();
    };
    let vid = id.clone();
    let rename = move |name: String| {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err("a name cannot be empty".to_string());
        }
        editor.edit(|p| {
            if let Some(v) = p.vpcs.iter_mut().find(|v| v.id == vid) {
                v.name = name;
            }
        });
        Ok(())
    };
    let vid = id.clone();
    let set_cidr = move |text: String| {
        let c = parse_ipv4_block(text.trim())
            .map(Cidr::from)
            .map_err(|e| format!("{text:?}: {e}"))?;
        editor.edit(|p| {
            if let Some(v) = p.vpcs.iter_mut().find(|v| v.id == vid) {
                v.cidr = c;
            }
        });
        Ok(())
    };
    let vid = id.clone();
    let set_account = move |text: String| {
        let acct = text.trim().to_string();
        if acct.is_empty() {
            return Err("an account cannot be empty".to_string());
        }
        editor.edit(|p| {
            if !p.accounts.iter().any(|a| a.id.as_str() == acct) {
                p.accounts.push(netmodel::model::Account {
                    id: acct.as_str().into(),
                    name: String::new(),
                });
            }
            if let Some(v) = p.vpcs.iter_mut().find(|v| v.id == vid) {
                v.account = acct.as_str().into();
            }
            for pc in &mut p.peerings {
                for side in [&mut pc.requester, &mut pc.accepter] {
                    if side.vpc == vid {
                        side.account = acct.as_str().into();
                    }
                }
            }
        });
        Ok(())
    };
    let vid = id.clone();
    let set_region = move |text: String| {
        let region = text.trim().to_string();
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("{region:?} is not a region name like us-east-1"));
        }
        editor.edit(|p| {
            if let Some(v) = p.vpcs.iter_mut().find(|v| v.id == vid) {
                v.region = region.clone();
            }
            for pc in &mut p.peerings {
                for side in [&mut pc.requester, &mut pc.accepter] {
                    if side.vpc == vid {
                        side.region = region.clone();
                    }
                }
            }
        });
        Ok(())
    };
    let vid = id.clone();
    let subnet_block = RwSignal::new(
        plan.with_untracked(|p| edit::suggest_subnet_block(p, &vid))
            .map(|c| c.to_string())
            .unwrap_or_default(),
    );
    let subnet_error = RwSignal::new(String::new());
    let vid = id.clone();
    let add_subnet = move |_| {
        let text = subnet_block.get_untracked();
        match parse_ipv4_block(text.trim()) {
            Ok(c) => {
                editor.edit(|p| {
                    edit::add_subnet(p, &vid, Cidr::from(c));
                });
                subnet_error.set(String::new());
                subnet_block.set(
                    plan.with_untracked(|p| edit::suggest_subnet_block(p, &vid))
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                );
            }
            Err(e) => subnet_error.set(format!("{text:?}: {e}")),
        }
    };
    let vid = id.clone();
    let subnets = move || {
        plan.with(|p| {
            p.subnets
                .iter()
                .filter(|s| s.vpc == vid)
                .map(|s| view! { <SubnetRow editor id=s.id.clone() label=format!("{} · {}", s.id, s.cidr)/> })
                .collect_view()
        })
    };
    let vid = id.clone();
    let tables = move || {
        plan.with(|p| {
            p.route_tables
                .iter()
                .filter(|t| t.vpc == vid)
                .map(|t| view! { <RouteTableView editor id=t.id.clone()/> })
                .collect_view()
        })
    };
    let vid = id.clone();
    let groups = move || {
        plan.with(|p| {
            p.security_groups
                .iter()
                .filter(|g| g.vpc == vid)
                .map(|g| view! { <GroupView editor id=g.id.clone()/> })
                .collect_view()
        })
    };
    let vid = id.clone();
    let acls = move || {
        plan.with(|p| {
            p.network_acls
                .iter()
                .filter(|a| a.vpc == vid)
                .map(|a| view! { <AclView editor id=a.id.clone()/> })
                .collect_view()
        })
    };
    let secondary = vpc
        .secondary_cidrs
        .iter()
        .chain(&vpc.ipv6_cidrs)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <h3>{format!("VPC {}", vpc.id)}</h3>
        <Field label="Name".into() value=vpc.name.clone() apply=rename testid="vpc-name"/>
        <Field label="IPv4 block".into() value=vpc.cidr.to_string() apply=set_cidr testid="vpc-block"/>
        {(!secondary.is_empty()).then(|| view! { <p class="muted">"Other blocks: " {secondary}</p> })}
        <Field label="Account".into() value=vpc.account.to_string() apply=set_account testid="vpc-account"/>
        <Field label="Region".into() value=vpc.region.clone() apply=set_region testid="vpc-region"/>
        <h4>"Subnets"</h4>
        <ul class="plain">{subnets}</ul>
        <div class="inline-form">
            <label>
                "New subnet"
                <input type="text" size="16" aria-label="New subnet block" prop:value=move || subnet_block.get() on:input=move |ev| subnet_block.set(event_target_value(&ev))/>
            </label>
            <button type="button" on:click=add_subnet>"Add subnet"</button>
            <span class="field-error" role="alert">{move || subnet_error.get()}</span>
        </div>
        <h4>"Route tables"</h4>
        {tables}
        <h4>"Security groups"</h4>
        {groups}
        <h4>"Network ACLs"</h4>
        {acls}
        <button type="button" class="danger" on:click=move |_| editor.delete_selected()>"Delete VPC"</button>
    }
    .into_any()
}

/// A subnet line in the VPC inspector, with its "add endpoint" form.
#[component]
fn SubnetRow(editor: Editor, id: SubnetId, label: String) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("instance".to_string());
    let port = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let add = move |_| {
        let port = match crate::edit::parse_port(&port.get_untracked()) {
            Ok(p) => p,
            Err(e) => {
                error.set(e);
                return;
            }
        };
        let Some(addr) = editor
            .plan
            .with_untracked(|p| edit::suggest_endpoint_address(p, &id))
        else {
            error.set(format!("{id} has no free address left"));
            return;
        };
        let kind = match kind.get_untracked().as_str() {
            "bucket" => EndpointKind::Bucket,
            "agent" => EndpointKind::Agent,
            "service" => EndpointKind::Service,
            _ => EndpointKind::Instance,
        };
        let n = name.get_untracked();
        editor.edit(|p| {
            edit::add_endpoint(p, &id, &n, kind, addr, port);
        });
        error.set(String::new());
        name.set(String::new());
    };
    view! {
        <li>
            <div>{label}</div>
            <div class="inline-form">
                <input type="text" size="10" placeholder="name" aria-label="Endpoint name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <select aria-label="Endpoint kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="instance" selected>"instance"</option>
                    <option value="bucket">"bucket"</option>
                    <option value="agent">"agent"</option>
                    <option value="service">"service"</option>
                </select>
                <input type="text" size="5" placeholder="port" aria-label="Endpoint port" prop:value=move || port.get() on:input=move |ev| port.set(event_target_value(&ev))/>
                <button type="button" on:click=add>"Add endpoint"</button>
            </div>
            <span class="field-error" role="alert">{move || error.get()}</span>
        </li>
    }
}

/// A subnet's details.
#[component]
fn SubnetInspector(editor: Editor, id: SubnetId) -> impl IntoView {
    let text = editor.plan.with_untracked(|p| {
        p.subnet(&id).map(|s| {
            let rt = p
                .route_table_of(s)
                .map(|t| t.id.to_string())
                .unwrap_or_else(|| "none".into());
            let acl = p
                .network_acl_of(s)
                .map(|a| a.id.to_string())
                .unwrap_or_else(|| "none".into());
            format!(
                "{} · {} · {} · VPC {} · route table {rt} · ACL {acl}",
                s.id, s.cidr, s.az, s.vpc
            )
        })
    });
    view! {
        <h3>"Subnet"</h3>
        <p>{text}</p>
        <button type="button" class="danger" on:click=move |_| editor.delete_selected()>"Delete subnet"</button>
    }
}

/// A route table: its routes (with the implicit local ones), remove, and add with a target picker.
#[component]
fn RouteTableView(editor: Editor, id: RouteTableId) -> impl IntoView {
    let plan = editor.plan;
    let dest = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let rid = id.clone();
    let targets = Memo::new(move |_| {
        plan.with(|p| {
            edit::valid_targets(p, &rid)
                .iter()
                .map(target_label)
                .collect::<Vec<_>>()
        })
    });
    let rid = id.clone();
    let add = move |_| {
        let d = dest.get_untracked();
        let c = match parse_block(d.trim()) {
            Ok(c) => Cidr(c),
            Err(e) => {
                error.set(format!("{d:?}: {e}"));
                return;
            }
        };
        let t_text = {
            let t = target.get_untracked();
            if t.is_empty() {
                targets.get_untracked().into_iter().nth(1).unwrap_or_default()
            } else {
                t
            }
        };
        let Some(t) = plan.with_untracked(|p| parse_target(p, &rid, &t_text)) else {
            error.set(format!("{t_text:?} is not a valid target for {rid}"));
            return;
        };
        editor.edit(|p| edit::set_route(p, &rid, c, t));
        error.set(String::new());
        dest.set(String::new());
    };
    let rid = id.clone();
    let rows = move || {
        plan.with(|p| {
            let Some(t) = p.route_tables.iter().find(|t| t.id == rid) else {
                return vec![];
            };
            let vpc = p.vpc(&t.vpc);
            let mut rows: Vec<(String, String, Option<Cidr>)> = vpc
                .map(|v| v.blocks().map(|b| (b.to_string(), "local".to_string(), None)).collect())
                .unwrap_or_default();
            rows.extend(t.routes.iter().map(|r| (r.destination.to_string(), r.target.to_string(), Some(r.destination))));
            rows
        })
        .into_iter()
        .map(|(d, t, removable)| {
            let rid = rid.clone();
            view! {
                <tr>
                    <td>{d}</td>
                    <td>{t}</td>
                    <td>{removable.map(|c| view! {
                        <button type="button" class="link" aria-label=format!("Remove the route to {c}") on:click=move |_| editor.edit(|p| edit::remove_route(p, &rid, &c))>"remove"</button>
                    })}</td>
                </tr>
            }
        })
        .collect_view()
    };
    let main = plan.with_untracked(|p| p.route_tables.iter().find(|t| t.id == id).is_some_and(|t| t.main));
    view! {
        <div class="table-block" data-testid="route-table" data-id=id.to_string()>
            <div>{format!("{id}{}", if main { " (main)" } else { "" })}</div>
            <table class="routes">
                <thead><tr><th>"Destination"</th><th>"Target"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="inline-form">
                <input type="text" size="16" placeholder="destination CIDR" aria-label=format!("Route destination in {id}") prop:value=move || dest.get() on:input=move |ev| dest.set(event_target_value(&ev))/>
                <select aria-label=format!("Route target in {id}") on:change=move |ev| target.set(event_target_value(&ev))>
                    {move || targets.get().into_iter().enumerate().map(|(i, t)| view! { <option value=t.clone() selected=i == 1>{t.clone()}</option> }).collect_view()}
                </select>
                <button type="button" on:click=add>"Add route"</button>
            </div>
            <span class="field-error" role="alert">{move || error.get()}</span>
        </div>
    }
}

fn rule_text(r: &SgRule) -> String {
    let ports = r
        .ports
        .map(|p| {
            if p.from == p.to {
                p.from.to_string()
            } else {
                format!("{}-{}", p.from, p.to)
            }
        })
        .unwrap_or_else(|| "all".into());
    let peer = r
        .cidr
        .map(|c| c.to_string())
        .or_else(|| r.sg.as_ref().map(|s| s.to_string()))
        .unwrap_or_default();
    format!("{} {} {}", r.protocol, ports, peer)
}

/// A security group: its rules (remove), and an "allow inbound" form.
#[component]
fn GroupView(editor: Editor, id: SecurityGroupId) -> impl IntoView {
    let plan = editor.plan;
    let protocol = RwSignal::new("tcp".to_string());
    let ports = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let gid = id.clone();
    let add = move |_| {
        let ports = match parse_ports(&ports.get_untracked()) {
            Ok(p) => p,
            Err(e) => {
                error.set(e);
                return;
            }
        };
        let s = source.get_untracked();
        let cidr = match parse_block(s.trim()) {
            Ok(c) => Cidr(c),
            Err(e) => {
                error.set(format!("source {s:?}: {e}"));
                return;
            }
        };
        let protocol = crate::edit::parse_protocol(&protocol.get_untracked());
        editor.edit(|p| {
            edit::add_ingress(
                p,
                &gid,
                SgRule {
                    protocol,
                    ports: if protocol.has_ports() { ports } else { None },
                    cidr: Some(cidr),
                    sg: None,
                    description: String::new(),
                },
            )
        });
        error.set(String::new());
    };
    let gid = id.clone();
    let rules = move || {
        plan.with(|p| {
            let Some(g) = p.security_group(&gid) else {
                return vec![];
            };
            g.ingress
                .iter()
                .enumerate()
                .map(|(i, r)| (true, i, rule_text(r)))
                .chain(g.egress.iter().enumerate().map(|(i, r)| (false, i, rule_text(r))))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .map(|(ingress, i, text)| {
            let gid = gid.clone();
            view! {
                <li>
                    {if ingress { "in  " } else { "out " }}
                    <code>{text.clone()}</code>
                    " "
                    <button type="button" class="link" aria-label=format!("Remove rule {text}") on:click=move |_| editor.edit(|p| edit::remove_rule(p, &gid, ingress, i))>"remove"</button>
                </li>
            }
        })
        .collect_view()
    };
    let name = plan.with_untracked(|p| p.security_group(&id).map(|g| g.name.clone()).unwrap_or_default());
    view! {
        <div class="table-block" data-testid="security-group" data-id=id.to_string()>
            <div>{format!("{id} {name}")}</div>
            <ul class="plain rules">{rules}</ul>
            <div class="inline-form">
                "Allow in "
                <select aria-label=format!("Protocol of a new rule in {id}") on:change=move |ev| protocol.set(event_target_value(&ev))>
                    <option value="tcp" selected>"tcp"</option>
                    <option value="udp">"udp"</option>
                    <option value="icmp">"icmp"</option>
                    <option value="all">"all"</option>
                </select>
                <input type="text" size="9" placeholder="ports" aria-label=format!("Ports of a new rule in {id}") prop:value=move || ports.get() on:input=move |ev| ports.set(event_target_value(&ev))/>
                <input type="text" size="16" placeholder="from CIDR" aria-label=format!("Source of a new rule in {id}") prop:value=move || source.get() on:input=move |ev| source.set(event_target_value(&ev))/>
                <button type="button" on:click=add>"Add rule"</button>
            </div>
            <span class="field-error" role="alert">{move || error.get()}</span>
        </div>
    }
}

/// A network ACL: its numbered entries and a form to add one.
#[component]
fn AclView(editor: Editor, id: NetworkAclId) -> impl IntoView {
    let plan = editor.plan;
    let rule = RwSignal::new(String::from("90"));
    let direction = RwSignal::new("inbound".to_string());
    let protocol = RwSignal::new("all".to_string());
    let ports = RwSignal::new(String::new());
    let cidr = RwSignal::new(String::from("0.0.0.0/0"));
    let action = RwSignal::new("deny".to_string());
    let error = RwSignal::new(String::new());
    let aid = id.clone();
    let add = move |_| {
        let r = rule.get_untracked();
        let number = match r.trim().parse::<u16>() {
            Ok(n) if (1..=32766).contains(&n) => n,
            _ => {
                error.set(format!("rule number {r:?} is not from 1 to 32766"));
                return;
            }
        };
        let ports = match parse_ports(&ports.get_untracked()) {
            Ok(p) => p,
            Err(e) => {
                error.set(e);
                return;
            }
        };
        let c = cidr.get_untracked();
        let block = match parse_block(c.trim()) {
            Ok(b) => Cidr(b),
            Err(e) => {
                error.set(format!("{c:?}: {e}"));
                return;
            }
        };
        let direction = if direction.get_untracked() == "outbound" {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let protocol = crate::edit::parse_protocol(&protocol.get_untracked());
        let action = if action.get_untracked() == "allow" {
            Action::Allow
        } else {
            Action::Deny
        };
        editor.edit(|p| {
            if let Some(a) = p.network_acls.iter_mut().find(|a| a.id == aid) {
                a.entries
                    .retain(|e| !(e.rule == number && e.direction == direction));
                a.entries.push(AclEntry {
                    rule: number,
                    direction,
                    protocol,
                    ports: if protocol.has_ports() { ports } else { None },
                    cidr: block,
                    action,
                });
                a.entries
                    .sort_by_key(|e| (e.direction == Direction::Outbound, e.rule));
            }
        });
        error.set(String::new());
    };
    let aid = id.clone();
    let rows = move || {
        plan.with(|p| {
            p.network_acls
                .iter()
                .find(|a| a.id == aid)
                .map(|a| a.entries.clone())
                .unwrap_or_default()
        })
        .into_iter()
        .map(|e| {
            let ports = e
                .ports
                .map(|p| format!("{}-{}", p.from, p.to))
                .unwrap_or_else(|| "all".into());
            view! {
                <tr>
                    <td>{e.rule}</td>
                    <td>{format!("{:?}", e.direction).to_lowercase()}</td>
                    <td>{e.protocol.to_string()}</td>
                    <td>{ports}</td>
                    <td>{e.cidr.to_string()}</td>
                    <td>{format!("{:?}", e.action).to_lowercase()}</td>
                </tr>
            }
        })
        .collect_view()
    };
    view! {
        <div class="table-block" data-testid="network-acl" data-id=id.to_string()>
            <div>{id.to_string()}</div>
            <table class="routes">
                <thead><tr><th>"Rule"</th><th>"Dir"</th><th>"Proto"</th><th>"Ports"</th><th>"CIDR"</th><th>"Action"</th></tr></thead>
                <tbody>{rows}<tr class="muted"><td>"*"</td><td colspan="4">"everything else"</td><td>"deny"</td></tr></tbody>
            </table>
            <div class="inline-form">
                <input type="text" size="5" aria-label=format!("Rule number in {id}") prop:value=move || rule.get() on:input=move |ev| rule.set(event_target_value(&ev))/>
                <select aria-label=format!("Direction in {id}") on:change=move |ev| direction.set(event_target_value(&ev))>
                    <option value="inbound" selected>"inbound"</option>
                    <option value="outbound">"outbound"</option>
                </select>
                <select aria-label=format!("Protocol in {id}") on:change=move |ev| protocol.set(event_target_value(&ev))>
                    <option value="all" selected>"all"</option>
                    <option value="tcp">"tcp"</option>
                    <option value="udp">"udp"</option>
                    <option value="icmp">"icmp"</option>
                </select>
                <input type="text" size="9" placeholder="ports" aria-label=format!("Ports in {id}") prop:value=move || ports.get() on:input=move |ev| ports.set(event_target_value(&ev))/>
                <input type="text" size="14" aria-label=format!("CIDR in {id}") prop:value=move || cidr.get() on:input=move |ev| cidr.set(event_target_value(&ev))/>
                <select aria-label=format!("Action in {id}") on:change=move |ev| action.set(event_target_value(&ev))>
                    <option value="deny" selected>"deny"</option>
                    <option value="allow">"allow"</option>
                </select>
                <button type="button" on:click=add>"Add entry"</button>
            </div>
            <span class="field-error" role="alert">{move || error.get()}</span>
        </div>
    }
}

/// A peering's details: sides, accounts, regions, status and DNS option.
#[component]
fn PeeringInspector(editor: Editor, id: PeeringId) -> impl IntoView {
    let plan = editor.plan;
    let Some(pc) = plan.with_untracked(|p| p.peering(&id).cloned()) else {
        return view! { <p class="muted">"This peering no longer exists."</p> }.into_any();
    };
    let pid = id.clone();
    let set_status = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        if let Some(s) = PeeringStatus::ALL.iter().find(|s| s.as_str() == v) {
            editor.edit(|p| edit::set_peering_status(p, &pid, *s));
        }
    };
    let pid = id.clone();
    let set_dns = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        editor.edit(|p| {
            if let Some(x) = p.peerings.iter_mut().find(|x| x.id == pid) {
                x.options.dns_resolution = on;
            }
        });
    };
    let status = pc.status;
    let notes = [
        pc.is_cross_account()
            .then_some("cross-account: the accepter's account must accept"),
        pc.is_inter_region()
            .then_some("inter-region: MTU 1500, no security-group references"),
    ];
    view! {
        <h3>{format!("Peering {}", pc.id)}</h3>
        <table class="kv">
            <tbody>
                <tr><th>"Requester"</th><td>{format!("{} · {} · {}", pc.requester.vpc, pc.requester.account, pc.requester.region)}</td></tr>
                <tr><th>"Accepter"</th><td>{format!("{} · {} · {}", pc.accepter.vpc, pc.accepter.account, pc.accepter.region)}</td></tr>
            </tbody>
        </table>
        {notes.into_iter().flatten().map(|n| view! { <p class="muted">{n}</p> }).collect_view()}
        {pc.status_message.clone().map(|m| view! { <p class="field-error">{m}</p> })}
        <label class="field">
            <span>"Status"</span>
            <select aria-label="Peering status" on:change=set_status>
                {PeeringStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == status>{s.as_str()}</option> }).collect_view()}
            </select>
        </label>
        <label class="field checkbox">
            <input type="checkbox" prop:checked=pc.options.dns_resolution on:change=set_dns/>
            <span>"DNS resolution of the peer's public host names"</span>
        </label>
        <button type="button" class="danger" on:click=move |_| editor.delete_selected()>"Delete peering"</button>
    }
    .into_any()
}

-- Security groups, network ACLs, endpoints and subnet associations. Every VPC gets a default ACL (allow all)
-- and a default security group (egress to anywhere, ingress from the group itself), as in AWS; VPCs created
-- before this migration get theirs here.
CREATE TABLE network_acls (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    is_default BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX network_acls_account ON network_acls (account_id, id);
CREATE INDEX network_acls_vpc ON network_acls (vpc_id);

CREATE TABLE acl_entries (
    acl_id TEXT NOT NULL REFERENCES network_acls (id),
    direction TEXT NOT NULL,
    rule_number BIGINT NOT NULL,
    protocol TEXT NOT NULL,
    from_port BIGINT,
    to_port BIGINT,
    cidr_block TEXT NOT NULL,
    rule_action TEXT NOT NULL,
    PRIMARY KEY (acl_id, direction, rule_number)
);

CREATE TABLE security_groups (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    is_default BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX security_groups_account ON security_groups (account_id, id);
CREATE INDEX security_groups_vpc ON security_groups (vpc_id);

CREATE TABLE sg_rules (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES security_groups (id),
    direction TEXT NOT NULL,
    protocol TEXT NOT NULL,
    from_port BIGINT,
    to_port BIGINT,
    cidr TEXT,
    ref_group_id TEXT,
    description TEXT NOT NULL,
    -- protocol|ports|peer: one rule per permission, as AWS refuses duplicates.
    rule_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sg_rules_unique ON sg_rules (group_id, direction, rule_key);
CREATE INDEX sg_rules_ref ON sg_rules (ref_group_id);

CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    subnet_id TEXT NOT NULL REFERENCES subnets (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    private_ip TEXT NOT NULL,
    ports TEXT NOT NULL,
    security_group_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX endpoints_account ON endpoints (account_id, id);
CREATE UNIQUE INDEX endpoints_ip ON endpoints (subnet_id, private_ip);

-- Explicit subnet associations; a subnet without a row uses its VPC's main table / default ACL.
CREATE TABLE subnet_associations (
    subnet_id TEXT NOT NULL REFERENCES subnets (id),
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (subnet_id, kind)
);
CREATE INDEX subnet_associations_target ON subnet_associations (target_id);

ALTER TABLE vpcs ADD COLUMN default_network_acl_id TEXT NOT NULL DEFAULT '';
ALTER TABLE vpcs ADD COLUMN default_security_group_id TEXT NOT NULL DEFAULT '';
UPDATE vpcs SET default_network_acl_id = 'acl_' || substr(id, 5), default_security_group_id = 'sg_' || substr(id, 5);
INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at)
    SELECT default_network_acl_id, account_id, id, 1, created_at FROM vpcs;
INSERT INTO acl_entries (acl_id, direction, rule_number, protocol, cidr_block, rule_action)
    SELECT default_network_acl_id, 'ingress', 100, 'all', '0.0.0.0/0', 'allow' FROM vpcs;
INSERT INTO acl_entries (acl_id, direction, rule_number, protocol, cidr_block, rule_action)
    SELECT default_network_acl_id, 'egress', 100, 'all', '0.0.0.0/0', 'allow' FROM vpcs;
INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at)
    SELECT default_security_group_id, account_id, id, 'default', 'default VPC security group', 1, created_at FROM vpcs;
INSERT INTO sg_rules (id, group_id, direction, protocol, cidr, description, rule_key, created_at)
    SELECT 'sgr_e' || substr(id, 5), default_security_group_id, 'egress', 'all', '0.0.0.0/0', '', 'all||0.0.0.0/0', created_at FROM vpcs;
INSERT INTO sg_rules (id, group_id, direction, protocol, ref_group_id, description, rule_key, created_at)
    SELECT 'sgr_i' || substr(id, 5), default_security_group_id, 'ingress', 'all', default_security_group_id, '', 'all||' || default_security_group_id, created_at FROM vpcs;

"""Schemathesis hooks for the control plane's OpenAPI document: value generators for its custom string formats,
so that generated requests can pass the server's validation and create objects that the stateful phase then
follows through the document's links (create → get / update / delete with real ids).

- `ipv4-block`: an IPv4 block of /16 to /28 with zero host bits (what VPCs and subnets accept).
- `name`: a short printable name (names are at most 255 printable characters).

Loaded by scripts/schemathesis.sh (SCHEMATHESIS_HOOKS). Formats only steer generation: schemathesis still sends
invalid values in its negative tests.
"""

import ipaddress

import schemathesis
from hypothesis import strategies as st

ipv4_blocks = st.builds(
    lambda address, prefix: str(ipaddress.ip_network(f"{ipaddress.IPv4Address(address)}/{prefix}", strict=False)),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=16, max_value=28),
)
schemathesis.openapi.format("ipv4-block", ipv4_blocks)

names = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" -_."),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip())
schemathesis.openapi.format("name", names)

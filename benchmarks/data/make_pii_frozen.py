#!/usr/bin/env python3
"""Provenance of ``pii_frozen_configs.jsonl``: a labelled, FROZEN evaluation set for the PII/secrets scan.

This script was written independently of the detector: its author did not read the detector's rules,
patterns, tests or benchmark, and never ran the detector on this data.  The templates below are the
author's own idea of what configuration files, sources, notebooks, logs and docs look like in the wild,
and the labels follow a written policy (see ``POLICY``), not any detector's output.

The JSONL is frozen: the benchmark reads ``pii_frozen_configs.jsonl`` as it is checked in; this
script is kept only as provenance (so anyone can see how each text and each span was made) and to
regenerate the identical file (fixed seed, standard library only)::

    .venv/bin/python benchmarks/data/make_pii_frozen.py            # writes benchmarks/data/pii_frozen_configs.jsonl
    .venv/bin/python benchmarks/data/make_pii_frozen.py --check benchmarks/data/pii_frozen_configs.jsonl

Each line is ``{"name": path, "text": full text, "labels": [[start, end, KIND, secret_kind], ...]}``;
``start``/``end`` are Python ``str`` offsets of the sensitive VALUE only (no key name, no quotes).
Every secret is freshly random (``random.Random(SEED)``); none is a real credential.
"""

from __future__ import annotations

import argparse
import base64
import collections
import ipaddress
import json
import random
import re
import string
import sys
import uuid
from pathlib import Path

SEED = 20240611
N_FILES_TARGET = 220
OUT = Path(__file__).with_name("pii_frozen_configs.jsonl")
KINDS = ("EMAIL", "IP_ADDRESS", "KEY", "PASSWORD")

POLICY = """
KEY: API tokens and credentials (AWS key ids and secret keys, JWTs, hf_ tokens, GitHub/GitLab/Slack/Stripe/
OpenAI/Google/SendGrid/Twilio/npm/PyPI tokens, the secret path of Slack webhooks, PEM private key blocks,
GCP service-account private_key, high-entropy api_key/secret/client_secret values).
PASSWORD: real-looking passwords assigned to password-like keys; the password part of credential URLs.
EMAIL: people's and organisations' addresses at real-looking domains (not example.*, *.test, *.invalid,
localhost, user@domain.com-style placeholders, git@github.com: remotes, icon@2x.png).
IP_ADDRESS: public IPv4/IPv6 (not private, loopback, link-local, 0.0.0.0, documentation ranges, public DNS
resolvers, version strings, OIDs).
Decoys never labelled: digests, UUIDs, SRI/lockfile hashes, data-URI base64, placeholders, AWS's documented
example keys, test strings marked fake, long identifiers, URLs without credentials, versions.
"""

B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"


class Lab(str):
    """A labelled value: a str that remembers its KIND and secret_kind."""

    def __new__(cls, value: str, kind: str, sk: str):
        obj = super().__new__(cls, value)
        obj.kind, obj.sk = kind, sk
        return obj


class Doc:
    """Text built from literal pieces and Lab pieces; the Lab pieces become labels."""

    FIELD = re.compile("\u00ab(\\w+)\u00bb")  # «name»

    def __init__(self):
        self.parts: list[str] = []
        self.labels: list[list] = []
        self.n = 0

    def add(self, *parts):
        for p in parts:
            if isinstance(p, Lab):
                assert p, "empty label"
                self.labels.append([self.n, self.n + len(p), p.kind, p.sk])
            p = str(p)
            self.parts.append(p)
            self.n += len(p)
        return self

    def fmt(self, tpl: str, **kw):
        pieces = self.FIELD.split(tpl)
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                self.add(piece)
            elif isinstance(kw[piece], tuple):
                self.add(*kw[piece])
            else:
                self.add(kw[piece])
        return self

    def jstr(self, *parts):
        """A JSON string literal: literal pieces are escaped, Lab pieces must need no escaping."""
        self.add('"')
        for p in parts:
            if isinstance(p, Lab):
                assert json.dumps(str(p))[1:-1] == str(p), p
                self.add(p)
            else:
                self.add(json.dumps(str(p))[1:-1])
        self.add('"')
        return self

    @property
    def text(self) -> str:
        return "".join(self.parts)


# ----------------------------------------------------------------------------------------------------
# vocabularies

FIRST = """alice bob carlos dana elif fatima george hana ivan julia kenji lena mateo nadia oscar priya quentin
rosa samir tara ugo valentina wei xenia yusuf zoe amara bjorn chloe dmitri esther farid greta hugo ines
jonas kaito lucia marek noor olga pablo rahul sofia tomas uma viktor wanda yara zeynep emeka mei-lin
sanjay thandiwe liam aoife magnus ngozi rafael svetlana tobias yuki ada""".split()
LAST = """smith garcia nguyen muller kowalski rossi tanaka okafor johansson silva dubois novak haddad
ivanova schmidt fernandez park chen kumar obrien lindqvist moreau petrov santos yamamoto bianchi
horvath andersen costa nakamura weber kaya mensah oconnell rahman varga zhang fischer bergstrom
delacroix eriksen gallagher hoffmann jimenez kruger laurent mwangi nieminen""".split()
ORG_DOMAINS = """brightwave.io kestrel-analytics.com northpeak.ai lumenlabs.dev quillstack.co harborline.net
fernhill-robotics.com tidepool.app corvus-data.io sablefin.com orbitforge.dev bluemesa.tech
granitebay.systems nimbusworks.cloud peregrine-health.org mapleridge.edu quantiqa.de veltra.fr
solvik.se kumo-labs.jp aranea.nl ironleaf.co.uk""".split()
FREEMAIL = """gmail.com outlook.com proton.me yahoo.com hotmail.co.uk web.de fastmail.com icloud.com
gmx.net mail.ru qq.com 163.com""".split()
PROJ = """billing-api atlas hermes ml-pipeline webapp inference-server data-platform chatbot infra payments
search-indexer notifications auth-service analytics etl-jobs storefront model-hub telemetry
recommender gateway""".split()
REGIONS = "us-east-1 us-east-2 us-west-2 eu-west-1 eu-central-1 ap-southeast-1 ap-northeast-1 sa-east-1".split()
WORDS = """falcon otter maple ember cobalt juniper quartz tundra harbor velvet meadow cinder orchid
lantern summit prairie nebula saffron glacier thistle canyon raven willow copper""".split()

DNS_RESOLVERS = [
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "9.9.9.9",
    "149.112.112.112",
    "208.67.222.222",
    "208.67.220.220",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
]
RESOLVER_SET = {ipaddress.ip_address(x) for x in DNS_RESOLVERS}

AWS_EXAMPLE_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

KEY_PLACEHOLDERS = [
    "your-api-key-here",
    "<TOKEN>",
    "xxxxxxxxxxxxxxxxxxxxxxxx",
    "changeme",
    "REPLACE_ME",
    "<your-token>",
    "TODO",
    "${API_KEY}",
    "none",
    "dummy",
]
PW_PLACEHOLDERS = [
    "changeme",
    "${DB_PASSWORD}",
    "<password>",
    "xxxxxxxx",
    "CHANGE_ME",
    "password",
    "${DB_PASSWORD:-changeme}",
    "secret",
]


class G:
    """Seeded generator of labelled values and decoys."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.clean = False
        self.p_real = 0.88
        self.issued: list[Lab] = []

    # -- plumbing ------------------------------------------------------------------------------------
    def start_file(self, clean: bool):
        self.clean = clean
        self.issued = []

    def decide(self) -> bool:
        x = self.r.random()
        # at most 6 labelled values per file: stop deciding "real" at 5 (a forced pair may add one more)
        return (not self.clean) and x < self.p_real and len(self.issued) < 5

    def _lab(self, value, kind, sk, alt, force):
        real = self.decide() if force is None else (force and not self.clean)
        if real:
            lab = Lab(value, kind, sk)
            self.issued.append(lab)
            return lab
        if callable(alt):
            alt = alt()
        if isinstance(alt, (list, tuple)):
            alt = self.r.choice(alt)
        return alt

    def choice(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def rs(self, alphabet, n):
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def b64(self, nbytes, url=False):
        raw = bytes(self.r.getrandbits(8) for _ in range(nbytes))
        s = base64.urlsafe_b64encode(raw) if url else base64.b64encode(raw)
        return s.decode()

    # -- people --------------------------------------------------------------------------------------
    def person(self):
        f, lname = self.choice(FIRST), self.choice(LAST)
        last = {"obrien": "O'Brien", "oconnell": "O'Connell"}.get(lname, lname.title())
        return f, lname, f"{f.replace('-', ' ').title()} {last}"

    def email_value(self, f=None, lname=None, domain=None):
        if f is None:
            f, lname, _ = self.person()
        f = f.replace("-", "")
        style = self.r.randrange(7)
        local = [
            f"{f}.{lname}",
            f"{f[0]}{lname}",
            f,
            f"{f}_{lname}",
            f"{f}{lname}{self.r.randrange(10, 99)}",
            f"{f}+{self.choice(['github', 'ci', 'alerts', 'dev'])}",
            f"{lname}.{f[0]}",
        ][style]
        if domain is None:
            domain = self.choice(ORG_DOMAINS) if self.chance(0.6) else self.choice(FREEMAIL)
        return f"{local}@{domain}"

    def decoy_email(self):
        f = self.choice(FIRST).replace("-", "")
        return self.choice(
            [
                f"{f}@example.com",
                "jane.doe@example.org",
                "admin@example.net",
                "ci@build.test",
                "bounce@mailer.invalid",
                "root@localhost",
                "user@domain.com",
                "you@yourdomain.com",
                f"{f}.dev@example.com",
                "noreply@example.com",
                "someone@example.org",
                f"test-{f}@qa.test",
            ]
        )

    def email(self, f=None, lname=None, domain=None, alt=None, force=None):
        return self._lab(
            self.email_value(f, lname, domain), "EMAIL", "email", alt if alt is not None else self.decoy_email, force
        )

    def username(self):
        return self.choice(
            [
                "app",
                "admin",
                "deploy",
                "svc_" + self.choice(PROJ).split("-")[0],
                "postgres",
                "root",
                "backend",
                "etl",
                self.choice(FIRST).replace("-", ""),
            ]
        )

    # -- addresses -----------------------------------------------------------------------------------
    def ipv4_value(self):
        while True:
            a = ipaddress.IPv4Address(self.r.getrandbits(32))
            first = int(str(a).split(".")[0])
            if (
                a.is_global
                and not a.is_multicast
                and a not in RESOLVER_SET
                and 1 <= first <= 223
                and not str(a).endswith(".0")
                and not str(a).endswith(".255")
            ):
                return str(a)

    def ipv6_value(self):
        prefixes = [
            "2a01",
            "2a02",
            "2a03",
            "2a05",
            "2600",
            "2604",
            "2607",
            "2610",
            "2400",
            "2404",
            "2406",
            "2803",
            "2804",
            "2c0f",
            "2001:67c",
            "2a00",
        ]
        while True:
            p = self.choice(prefixes).split(":")
            hextets = p + [f"{self.r.getrandbits(16):x}" for _ in range(8 - len(p))]
            if self.chance(0.5):
                for i in range(4, 7):
                    hextets[i] = "0"
            a = ipaddress.IPv6Address(":".join(hextets))
            if a.is_global and a not in RESOLVER_SET:
                return str(a)

    def private_ip(self):
        r = self.r
        return self.choice(
            [
                f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                f"192.168.{r.randrange(256)}.{r.randrange(1, 255)}",
            ]
        )

    def decoy_ip(self):
        r = self.r
        return self.choice(
            [
                self.private_ip(),
                self.private_ip(),
                "127.0.0.1",
                "0.0.0.0",
                f"192.0.2.{r.randrange(1, 255)}",
                f"198.51.100.{r.randrange(1, 255)}",
                f"203.0.113.{r.randrange(1, 255)}",
                f"169.254.{r.randrange(1, 255)}.{r.randrange(1, 255)}",
                self.choice(DNS_RESOLVERS[:8]),
            ]
        )

    def decoy_ip6(self):
        r = self.r
        return self.choice(
            [
                "::1",
                "fe80::1",
                f"fe80::{r.getrandbits(16):x}:{r.getrandbits(16):x}",
                f"2001:db8::{r.getrandbits(16):x}",
                f"fd00:{r.getrandbits(16):x}::{r.randrange(1, 99)}",
                "2001:4860:4860::8888",
                "2606:4700:4700::1111",
            ]
        )

    def ip(self, alt=None, force=None):
        return self._lab(self.ipv4_value(), "IP_ADDRESS", "ipv4", alt if alt is not None else self.decoy_ip, force)

    def ip6(self, alt=None, force=None):
        return self._lab(self.ipv6_value(), "IP_ADDRESS", "ipv6", alt if alt is not None else self.decoy_ip6, force)

    # -- secrets -------------------------------------------------------------------------------------
    def akid(self, alt=None, force=None):
        v = self.choice(["AKIA", "AKIA", "AKIA", "ASIA"]) + self.rs("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        return self._lab(
            v,
            "KEY",
            "aws_access_key_id",
            alt if alt is not None else [AWS_EXAMPLE_ID, "${AWS_ACCESS_KEY_ID}", "AKIAXXXXXXXXXXXXXXXX"],
            force,
        )

    def aws_secret(self, alt=None, force=None):
        v = self.rs(B64, 40)
        return self._lab(
            v,
            "KEY",
            "aws_secret_access_key",
            alt if alt is not None else [AWS_EXAMPLE_SECRET, "${AWS_SECRET_ACCESS_KEY}", "<aws-secret-access-key>"],
            force,
        )

    def aws_session_token(self, alt=None, force=None):
        v = "IQoJb3JpZ2luX2Vj" + self.rs(B64, self.r.randrange(300, 420))
        return self._lab(v, "KEY", "aws_session_token", alt if alt is not None else "${AWS_SESSION_TOKEN}", force)

    def jwt_value(self):
        r = self.r
        alg = self.choice(["HS256", "HS256", "RS256", "ES256", "HS512"])
        header = {"alg": alg, "typ": "JWT"}
        if alg != "HS256" and self.chance(0.6):
            header["kid"] = self.rs(ALNUM + "-_", r.randrange(16, 43))
        iat = r.randrange(1_600_000_000, 1_760_000_000)
        f, lname, full = self.person()
        payload = {
            "sub": self.choice(
                [
                    str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    str(r.randrange(10**4, 10**9)),
                    f"auth0|{self.rs(HEX, 24)}",
                ]
            )
        }
        if self.chance(0.6):
            payload["name"] = full
        if self.chance(0.4):
            payload["email"] = self.email_value(f, lname)
        if self.chance(0.5):
            payload["iss"] = self.choice(
                [
                    f"https://auth.{self.choice(ORG_DOMAINS)}/",
                    "https://accounts.google.com",
                    f"https://{self.rs(string.ascii_lowercase, 8)}.auth0.com/",
                ]
            )
        if self.chance(0.4):
            payload["aud"] = self.choice(["api", "web", f"{self.choice(PROJ)}-client"])
        if self.chance(0.4):
            payload["scope"] = self.choice(["read:all write:orders", "openid profile email", "admin"])
        if self.chance(0.3):
            payload["role"] = self.choice(["admin", "user", "service"])
        payload["iat"] = iat
        payload["exp"] = iat + self.choice([900, 3600, 86400, 604800])

        def enc(o):
            return base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")

        sig_len = {"HS256": 32, "HS512": 64, "RS256": 256, "ES256": 64}[alg]
        return f"{enc(header)}.{enc(payload)}.{self.b64(sig_len, url=True).rstrip('=')}"

    def jwt(self, alt=None, force=None):
        return self._lab(
            self.jwt_value(),
            "KEY",
            "jwt",
            alt if alt is not None else ["<ACCESS_TOKEN>", "$TOKEN", "${ACCESS_TOKEN}", "<jwt>"],
            force,
        )

    def hf(self, alt=None, force=None):
        body = self.rs(string.ascii_letters, 34) if self.chance(0.7) else self.rs(ALNUM, 34)
        return self._lab(
            "hf_" + body,
            "KEY",
            "hf_token",
            alt
            if alt is not None
            else ["hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "<HF_TOKEN>", "${HF_TOKEN}", "hf_..."],
            force,
        )

    def github(self, alt=None, force=None):
        k = self.r.randrange(5)
        if k == 0:
            v = "github_pat_" + self.rs(ALNUM, 22) + "_" + self.rs(ALNUM, 59)
        else:
            v = self.choice(["ghp_", "ghp_", "gho_", "ghs_"]) + self.rs(ALNUM, 36)
        return self._lab(
            v,
            "KEY",
            "github_token",
            alt
            if alt is not None
            else ["ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "${GITHUB_TOKEN}", "<github-token>"],
            force,
        )

    def gitlab(self, alt=None, force=None):
        return self._lab(
            "glpat-" + self.rs(ALNUM + "-_", 20),
            "KEY",
            "gitlab_token",
            alt if alt is not None else "$GITLAB_TOKEN",
            force,
        )

    def slack_token(self, alt=None, force=None):
        r = self.r
        v = (
            f"{self.choice(['xoxb', 'xoxb', 'xoxp'])}-{r.randrange(10**10, 10**13)}-{r.randrange(10**10, 10**13)}-"
            + self.rs(ALNUM, 24)
        )
        return self._lab(v, "KEY", "slack_token", alt if alt is not None else "xoxb-your-bot-token", force)

    def slack_webhook_path(self, alt=None, force=None):
        v = f"T{self.rs(UPPER_ALNUM, self.r.randrange(8, 11))}/B{self.rs(UPPER_ALNUM, self.r.randrange(8, 11))}/{self.rs(ALNUM, 24)}"
        return self._lab(
            v, "KEY", "slack_webhook", alt if alt is not None else "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", force
        )

    def stripe(self, alt=None, force=None):
        v = self.choice(["sk_live_", "sk_live_", "rk_live_"]) + self.rs(ALNUM, self.choice([24, 24, 99]))
        return self._lab(v, "KEY", "stripe_key", alt if alt is not None else "sk_test_XXXXXXXXXXXXXXXXXXXXXXXX", force)

    def openai(self, alt=None, force=None):
        if self.chance(0.5):
            v = "sk-" + self.rs(ALNUM, 48)
        else:
            v = "sk-proj-" + self.rs(ALNUM + "-_", 156)
        return self._lab(
            v,
            "KEY",
            "openai_key",
            alt if alt is not None else ["sk-...", "sk-your-key-here", "<OPENAI_API_KEY>"],
            force,
        )

    def anthropic(self, alt=None, force=None):
        return self._lab(
            "sk-ant-api03-" + self.rs(ALNUM + "-_", 93) + "AA",
            "KEY",
            "anthropic_key",
            alt if alt is not None else "sk-ant-...",
            force,
        )

    def google(self, alt=None, force=None):
        return self._lab(
            "AIza" + self.rs(ALNUM + "-_", 35),
            "KEY",
            "google_api_key",
            alt if alt is not None else "YOUR_GOOGLE_API_KEY",
            force,
        )

    def sendgrid(self, alt=None, force=None):
        return self._lab(
            "SG." + self.rs(ALNUM + "-_", 22) + "." + self.rs(ALNUM + "-_", 43),
            "KEY",
            "sendgrid_key",
            alt if alt is not None else "SG.xxxxxxxx",
            force,
        )

    def twilio_token(self, alt=None, force=None):
        return self._lab(
            self.rs(HEX, 32), "KEY", "twilio_auth_token", alt if alt is not None else "your_auth_token", force
        )

    def twilio_api_key(self, alt=None, force=None):
        return self._lab(
            "SK" + self.rs(HEX, 32), "KEY", "twilio_api_key", alt if alt is not None else "SKxxxxxxxx", force
        )

    def npm(self, alt=None, force=None):
        return self._lab(
            "npm_" + self.rs(ALNUM, 36), "KEY", "npm_token", alt if alt is not None else "${NPM_TOKEN}", force
        )

    def pypi(self, alt=None, force=None):
        return self._lab(
            "pypi-AgEIcHlwaS5vcmc" + self.rs(B64URL, self.r.randrange(140, 200)),
            "KEY",
            "pypi_token",
            alt if alt is not None else "<pypi-token>",
            force,
        )

    def mailgun(self, alt=None, force=None):
        return self._lab(
            "key-" + self.rs(HEX, 32), "KEY", "mailgun_key", alt if alt is not None else "key-xxxxxxxx", force
        )

    def datadog(self, alt=None, force=None):
        return self._lab(self.rs(HEX, 32), "KEY", "datadog_api_key", alt if alt is not None else "<DD_API_KEY>", force)

    def telegram(self, alt=None, force=None):
        return self._lab(
            f"{self.r.randrange(10**8, 10**10)}:AA{self.rs(ALNUM + '-_', 33)}",
            "KEY",
            "telegram_bot_token",
            alt if alt is not None else "<bot-token>",
            force,
        )

    def azure_storage_key(self, alt=None, force=None):
        return self._lab(self.b64(64), "KEY", "azure_storage_key", alt if alt is not None else "<account-key>", force)

    def generic_key(self, sk="generic_api_key", alt=None, force=None):
        k = self.r.randrange(5)
        v = [
            self.rs(HEX, 32),
            self.rs(HEX, 40),
            self.rs(ALNUM, 32),
            self.b64(32, url=True).rstrip("="),
            self.rs(ALNUM, self.r.randrange(24, 48)),
        ][k]
        return self._lab(v, "KEY", sk, alt if alt is not None else KEY_PLACEHOLDERS, force)

    def django_secret(self, alt=None, force=None):
        v = self.choice(["django-insecure-", ""]) + self.rs(
            string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)", 50
        )
        return self._lab(v, "KEY", "django_secret_key", alt if alt is not None else "django-insecure-change-me", force)

    def fernet(self, alt=None, force=None):
        return self._lab(self.b64(32, url=True), "KEY", "fernet_key", alt if alt is not None else "<fernet-key>", force)

    def wp_salt(self, alt=None, force=None):
        v = self.rs(ALNUM, 1) + self.rs(ALNUM + "!@#%^&*()-_=+[]{}<>~;:,.|/?", 62) + self.rs(ALNUM, 1)
        return self._lab(v, "KEY", "wordpress_salt", alt if alt is not None else "put your unique phrase here", force)

    def pem_value(self, kind=None, indent="", escaped=False):
        kind = kind or self.choice(["RSA", "RSA", "PKCS8", "PKCS8", "EC", "OPENSSH"])
        if kind == "RSA":
            head, der = "RSA PRIVATE KEY", bytes.fromhex("308204a40201000282010100") + self.rbytes(1180)
        elif kind == "PKCS8":
            head, der = (
                "PRIVATE KEY",
                bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8308204a40201000282010100")
                + self.rbytes(1180),
            )
        elif kind == "EC":
            head, der = "EC PRIVATE KEY", bytes.fromhex("30770201010420") + self.rbytes(112)
        else:
            head, der = (
                "OPENSSH PRIVATE KEY",
                b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none" + self.rbytes(380),
            )
        body = base64.b64encode(der).decode()
        width = 70 if kind == "OPENSSH" else 64
        lines = (
            [f"-----BEGIN {head}-----"]
            + [body[i : i + width] for i in range(0, len(body), width)]
            + [f"-----END {head}-----"]
        )
        if escaped:
            return "\\n".join(lines)
        return ("\n" + indent).join(lines)

    def rbytes(self, n):
        return bytes(self.r.getrandbits(8) for _ in range(n))

    def pem(self, kind=None, indent="", escaped=False, alt=None, force=None, sk="private_key"):
        return self._lab(
            self.pem_value(kind, indent, escaped), "KEY", sk, alt if alt is not None else "/run/secrets/tls.key", force
        )

    def password_value(self, safe="!#%*-_.+=?~^"):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            pw = self.rs(ALNUM + safe, r.randrange(12, 24))
        elif k == 1:
            pw = self.choice(WORDS).title() + self.choice(safe or "1") + self.choice(WORDS) + str(r.randrange(10, 9999))
        elif k == 2:
            pw = "-".join(self.choice(WORDS) for _ in range(3)) + str(r.randrange(10, 99))
        elif k == 3:
            pw = self.rs(ALNUM, r.randrange(16, 32))
        elif k == 4:
            w = self.choice(WORDS)
            pw = (
                w[0].upper()
                + w[1:].replace("a", "@" if "@" in safe else "4").replace("o", "0").replace("e", "3")
                + str(r.randrange(1990, 2026))
                + self.choice(safe or "x")
            )
        else:
            pw = self.choice(WORDS).title() + str(r.randrange(100, 999)) + self.rs(ALNUM, 6)
        pw = "".join(c for c in pw if c.isalnum() or c in safe or c == "-")
        if pw.lower() in {"password", "changeme", "secret"} or len(pw) < 8:
            pw += self.rs(ALNUM, 6)
        return pw

    def password(self, sk, safe="!#%*-_.+=?~^", alt=None, force=None):
        return self._lab(self.password_value(safe), "PASSWORD", sk, alt if alt is not None else PW_PLACEHOLDERS, force)

    def url_password(self, sk="db_url_password", alt=None, force=None):
        return self.password(
            sk, safe="-_.~", alt=alt if alt is not None else ["password", "changeme", "PASSWORD", "pass"], force=force
        )

    # -- decoys --------------------------------------------------------------------------------------
    def sha1(self):
        return self.rs(HEX, 40)

    def sha256(self):
        return self.rs(HEX, 64)

    def md5(self):
        return self.rs(HEX, 32)

    def uuid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def sri(self, alg="sha512"):
        n = {"sha512": 64, "sha384": 48, "sha256": 32, "sha1": 20}[alg]
        return f"{alg}-{self.b64(n)}"

    def data_uri(self):
        k = self.r.randrange(3)
        if k == 0:
            return "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAA" + self.rs(B64, self.r.randrange(120, 400)) + "=="
        if k == 1:
            return "data:font/woff2;base64,d09GMgABAAAAA" + self.rs(B64, self.r.randrange(160, 400))
        return "data:image/gif;base64,R0lGODlhAQABAIAAAP" + self.rs(B64, self.r.randrange(20, 60)) + "="

    def version(self, parts=3):
        r = self.r
        major = self.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7, 10])
        return ".".join(str(x) for x in [major, r.randrange(0, 25), r.randrange(0, 15), r.randrange(0, 9000)][:parts])

    def oid(self):
        return self.choice(
            [
                "1.3.6.1.4.1.311.60.2.1.3",
                "2.5.4.3",
                "1.2.840.113549.1.1.11",
                "1.3.6.1.5.5.7.3.1",
                "1.3.6.1.4.1.11129.2.4.2",
                "2.16.840.1.101.3.4.2.1",
            ]
        )

    def long_ident(self):
        return self.choice(
            [
                "AbstractSingletonProxyFactoryBeanConfigurationManager",
                "test_should_refresh_access_token_when_expired",
                "DefaultAwsCredentialsProviderChainResolverFactory",
                "handleAuthorizationHeaderTokenValidationError",
                "MAX_CONCURRENT_SECRET_ROTATION_ATTEMPTS_PER_ACCOUNT",
                "useGetServiceAccountPrivateKeyQuery",
            ]
        )

    def cert(self, indent=""):
        body = base64.b64encode(bytes.fromhex("308203") + self.rbytes(800)).decode()
        lines = (
            ["-----BEGIN CERTIFICATE-----"]
            + [body[i : i + 64] for i in range(0, len(body), 64)]
            + ["-----END CERTIFICATE-----"]
        )
        return ("\n" + indent).join(lines)

    def ssh_pub(self):
        return (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + self.rs(B64, 43)
            if self.chance(0.5)
            else "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + self.rs(B64, 340)
        )

    def ami(self):
        return "ami-0" + self.rs(HEX, 16)

    def acct(self):
        return str(self.r.randrange(10**11, 10**12))

    def proj(self):
        return self.choice(PROJ)

    def host(self):
        return self.choice(
            [
                f"db.{self.choice(ORG_DOMAINS)}",
                f"{self.proj()}-db.internal",
                "postgres",
                "db",
                f"{self.proj()}.cluster-c{self.rs(string.ascii_lowercase + string.digits, 11)}.{self.choice(REGIONS)}.rds.amazonaws.com",
            ]
        )


# ----------------------------------------------------------------------------------------------------
# templates: each writes one file into `d` and returns its path


def q(v, quote='"'):
    """A labelled value as a quoted literal; a placeholder expression (os.environ[...], var.x) as it is."""
    return (quote, v, quote) if isinstance(v, Lab) else v


def t_dotenv(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        [f"{p}/.env", ".env", ".env.production", f"services/{p}/.env", "docker/.env.local", "config/.env.staging"]
    )
    d.fmt(
        "# «p» — environment for «stage»\n# generated «date», build «sha»\nNODE_ENV=production\nAPP_VERSION=«ver»\nPORT=«port»\nLOG_LEVEL=info\n",
        p=p,
        stage=g.choice(["production", "staging", "local dev"]),
        date=f"2024-0{g.r.randrange(1, 10)}-1{g.r.randrange(10)}",
        sha=g.sha1()[:12],
        ver=g.version(),
        port=g.choice([3000, 8000, 8080, 5000]),
    )
    blocks = []
    blocks.append(
        lambda: d.fmt(
            "\nDATABASE_URL=postgres://«u»:«pw»@«h»:5432/«db»\n",
            u=g.username(),
            pw=g.url_password(),
            h=g.choice([g.host(), g.ip(alt=g.private_ip)]),
            db=p.replace("-", "_"),
        )
    )
    blocks.append(
        lambda: (
            lambda r: d.fmt(
                "\nAWS_REGION=«reg»\nAWS_ACCESS_KEY_ID=«a»\nAWS_SECRET_ACCESS_KEY=«s»\nS3_BUCKET=«p»-artifacts\n",
                reg=g.choice(REGIONS),
                a=g.akid(force=r),
                s=g.aws_secret(force=r),
                p=p,
            )
        )(g.decide())
    )
    blocks.append(lambda: d.fmt("\nHF_TOKEN=«t»\nHF_HOME=/data/hf-cache\n", t=g.hf()))
    blocks.append(lambda: d.fmt("\nOPENAI_API_KEY=«t»\nOPENAI_MODEL=gpt-4o-mini\n", t=g.openai()))
    blocks.append(
        lambda: d.fmt(
            "\nSMTP_HOST=smtp.«dom»\nSMTP_USER=«e»\nSMTP_PASSWORD=«pw»\n",
            dom=g.choice(ORG_DOMAINS),
            e=g.email(),
            pw=g.password("env_password", safe="!%*-_.+=?~^"),
        )
    )
    blocks.append(
        lambda: d.fmt(
            "\nSECRET_KEY=«k»\nSESSION_COOKIE_NAME=«p»_sid\n", k=g.generic_key("app_secret_key"), p=p.replace("-", "_")
        )
    )
    blocks.append(lambda: d.fmt("\nSTRIPE_SECRET_KEY=«k»\nSTRIPE_WEBHOOK_TOLERANCE=300\n", k=g.stripe()))
    blocks.append(
        lambda: d.fmt(
            "\nREDIS_URL=redis://:«pw»@«h»:6379/0\n", pw=g.url_password("redis_url_password"), h=g.private_ip()
        )
    )
    blocks.append(lambda: d.fmt("\nGITHUB_TOKEN=«t»\n", t=g.github()))
    for b in g.r.sample(blocks, g.r.randrange(2, 5)):
        b()
    d.fmt(
        "\n# see docs/deploy.md; placeholder below is filled by CI\nSENTRY_RELEASE=«v»\nREQUEST_ID_HEADER=X-Request-Id\n# ANALYTICS_KEY=your-api-key-here\nTRACE_SAMPLE_ID=«u»\n",
        v=g.version(),
        u=g.uuid(),
    )
    return name


def t_env_example(g: G, d: Doc):
    name = g.choice([".env.example", ".env.sample", "config/example.env", "docs/env.template"])
    d.fmt(
        """# Copy to .env and fill in real values. Never commit the real file.
DATABASE_URL=postgres://USER:PASSWORD@localhost:5432/app
AWS_ACCESS_KEY_ID=«aid»
AWS_SECRET_ACCESS_KEY=«asec»
HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
OPENAI_API_KEY=sk-your-key-here
STRIPE_SECRET_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX
SECRET_KEY=changeme
ADMIN_EMAIL=«em»
ALLOWED_HOSTS=localhost,127.0.0.1,«dip»
# checksum of the schema this template matches
SCHEMA_SHA256=«sha»
""",
        aid=AWS_EXAMPLE_ID,
        asec=AWS_EXAMPLE_SECRET,
        em=g.decoy_email(),
        dip=g.decoy_ip(),
        sha=g.sha256(),
    )
    return name


def t_docker_compose(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        ["docker-compose.yml", "docker-compose.prod.yml", f"{p}/compose.yaml", "deploy/docker-compose.yaml"]
    )
    pgpw = g.password("compose_password", safe="!%*-_.+=?~^")
    d.fmt(
        """version: "3.9"
services:
  db:
    image: postgres:16.2@sha256:«dig»
    restart: unless-stopped
    environment:
      POSTGRES_USER: «u»
      POSTGRES_PASSWORD: "«pw»"
      POSTGRES_DB: «db»
    volumes:
      - pgdata:/var/lib/postgresql/data
    ports:
      - "127.0.0.1:5432:5432"
""",
        dig=g.sha256(),
        u=g.username(),
        pw=pgpw,
        db=p.replace("-", "_"),
    )
    if g.chance(0.5):
        d.fmt(
            """  minio:
    image: minio/minio:RELEASE.2024-03-15T01-07-19Z
    command: server /data --console-address ":9001"
    environment:
      MINIO_ROOT_USER: «u»
      MINIO_ROOT_PASSWORD: «pw»
""",
            u=g.username(),
            pw=g.password("compose_password", safe="!%*-_.+=?~^"),
        )
    r = g.decide()
    d.fmt(
        """  app:
    build: .
    depends_on: [db]
    extra_hosts:
      - "metrics.internal:«pip»"
    environment:
      - DATABASE_URL=postgresql://«u»:«pw»@db:5432/«db»
      - AWS_ACCESS_KEY_ID=«a»
      - AWS_SECRET_ACCESS_KEY=«s»
      - CACHE_KEY_PREFIX=«uu»
      - GIT_COMMIT=«sha»
""",
        pip=g.private_ip(),
        u=g.username(),
        pw=g.url_password(),
        db=p.replace("-", "_"),
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
        uu=g.uuid(),
        sha=g.sha1(),
    )
    if g.chance(0.4):
        d.fmt("      - HUGGING_FACE_HUB_TOKEN=«t»\n", t=g.hf())
    d.add("volumes:\n  pgdata: {}\n")
    return name


def t_k8s_secret(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        [
            f"deploy/k8s/{p}-secret.yaml",
            "k8s/secret.yaml",
            f"manifests/{p}/secrets.yml",
            "helm/templates/secret.yaml",
            f"overlays/prod/{p}-aws-secret.yaml",
        ]
    )
    q = g.choice(["", '"'])
    r = g.decide()
    d.fmt(
        """apiVersion: v1
kind: Secret
metadata:
  name: «p»-credentials
  namespace: «ns»
  labels:
    app.kubernetes.io/name: «p»
    app.kubernetes.io/version: "«ver»"
  annotations:
    checksum/config: «sum»
    kubernetes.io/change-cause: "rollout «uu»"
type: Opaque
stringData:
  aws_access_key_id: «q»«a»«q»
  aws_secret_access_key: «q»«s»«q»
  AWS_DEFAULT_REGION: «reg»
""",
        p=p,
        ns=g.choice(["default", "prod", "ml", p]),
        ver=g.version(),
        sum=g.sha256(),
        uu=g.uuid(),
        q=q,
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
        reg=g.choice(REGIONS),
    )
    k = g.r.randrange(4)
    if k in (0, 3):
        d.fmt('  DB_PASSWORD: "«pw»"\n', pw=g.password("yaml_password", safe="!%*-_.+=?~^#"))
    elif k == 1:
        d.fmt("  HF_TOKEN: «t»\n", t=g.hf())
    elif k == 2:
        d.fmt(
            "  tls.key: |\n    «k»\n  tls.crt: |\n    «c»\n",
            k=g.pem(indent="    ", kind=g.choice(["RSA", "PKCS8", "EC"])),
            c=g.cert(indent="    "),
        )
    d.fmt(
        "  DB_HOST: «h»\n  FEATURE_FLAGS_URL: https://flags.«dom»/api/v1/flags\n",
        h=g.private_ip(),
        dom=g.choice(ORG_DOMAINS),
    )
    return name


def t_k8s_configmap(g: G, d: Doc):
    p = g.proj()
    name = g.choice([f"k8s/{p}-configmap.yaml", f"deploy/{p}/configmap.yml", "charts/app/templates/configmap.yaml"])
    d.fmt(
        """apiVersion: v1
kind: ConfigMap
metadata:
  name: «p»-config
  uid: «uu»
data:
  LOG_LEVEL: info
  UPSTREAM_DNS: "«dns»"
  DB_HOST: «pip»
  IMAGE_DIGEST: sha256:«dig»
  APP_VERSION: "«ver»"
""",
        p=p,
        uu=g.uuid(),
        dns=g.choice(DNS_RESOLVERS[:8]),
        pip=g.private_ip(),
        dig=g.sha256(),
        ver=g.version(4),
    )
    if g.chance(0.7):
        d.fmt('  PARTNER_API_ENDPOINT: "https://«ip»:8443/v2"\n', ip=g.ip())
    if g.chance(0.6):
        d.fmt("  ONCALL_EMAIL: «e»\n", e=g.email())
    if g.chance(0.4):
        d.fmt('  EGRESS_ALLOWLIST: "«a»,«b»,«c»"\n', a=g.ip(), b=g.decoy_ip(), c=g.ip6())
    if g.chance(0.25):
        d.fmt("  MAPS_API_KEY: «k»\n", k=g.google())
    d.fmt(
        "  nginx.conf: |\n    server {\n      listen 8080;\n      set_real_ip_from «cidr»;\n      location /healthz { return 200; }\n    }\n",
        cidr=g.private_ip().rsplit(".", 1)[0] + ".0/24",
    )
    return name


def t_gh_actions(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        [
            ".github/workflows/deploy.yml",
            ".github/workflows/ci.yaml",
            ".github/workflows/release.yml",
            ".github/workflows/push-to-hub.yml",
            ".github/workflows/nightly.yml",
        ]
    )
    r = g.decide()
    hard = g.chance(0.8)
    d.fmt(
        """name: «nm»
on:
  push:
    branches: [main]
  workflow_dispatch: {}
env:
  PYTHON_VERSION: "3.11"
  HF_TOKEN: ${{ secrets.HF_TOKEN }}
""",
        nm=g.choice(["deploy", "CI", "release", "nightly"]),
    )
    if hard:
        d.fmt(
            "  AWS_ACCESS_KEY_ID: «a»\n  AWS_SECRET_ACCESS_KEY: «s»\n  AWS_REGION: «reg»\n",
            a=g.akid(force=r),
            s=g.aws_secret(force=r),
            reg=g.choice(REGIONS),
        )
    else:
        d.add(
            "  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n  AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n"
        )
    d.fmt(
        """jobs:
  build:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@«c1» # v4.1.1
      - uses: actions/setup-python@«c2» # v5.0.0
        with:
          python-version: ${{ env.PYTHON_VERSION }}
      - run: pip install -r requirements.txt
      - name: configure git
        run: |
          git config user.name "«bot»"
          git config user.email "«e»"
""",
        c1=g.sha1(),
        c2=g.sha1(),
        bot=g.choice(["release-bot", "ci", "github-actions"]),
        e=g.email(alt="41898282+github-actions[bot]@users.noreply.github.com"),
    )
    k = g.r.randrange(3)
    if k == 0:
        d.fmt(
            "      - name: upload model\n        run: |\n          huggingface-cli login --token «t»\n          huggingface-cli upload «org»/«p» ./out\n",
            t=g.hf(alt="${{ secrets.HF_TOKEN }}"),
            org=g.choice(["bigcode", "acme-ml", "northpeak"]),
            p=p,
        )
    elif k == 1:
        d.fmt(
            '      - name: smoke test\n        run: |\n          curl -fsS -H "Authorization: Bearer «j»" https://api.«dom»/healthz\n',
            j=g.jwt(alt="${{ secrets.API_TOKEN }}"),
            dom=g.choice(ORG_DOMAINS),
        )
    else:
        d.fmt(
            '      - name: notify\n        run: curl -X POST -d \'{"text":"deployed"}\' https://hooks.slack.com/services/«w»\n',
            w=g.slack_webhook_path(alt="${{ secrets.SLACK_WEBHOOK_PATH }}"),
        )
    return name


def t_ansible_vars(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        [
            "group_vars/all.yml",
            f"inventories/prod/group_vars/{p}.yml",
            "host_vars/web01.yml",
            "roles/app/defaults/main.yml",
            "vars/secrets.yml",
        ]
    )
    r = g.decide()
    d.fmt(
        """---
# «p» role variables
app_name: «p»
app_version: "«ver»"
app_user: deploy
app_port: «port»
aws_region: «reg»
aws_access_key: «a»
aws_secret_key: «s»
""",
        p=p,
        ver=g.version(),
        port=g.choice([8000, 8080, 9000]),
        reg=g.choice(REGIONS),
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
    )
    if g.chance(0.9):
        d.fmt("db_user: «u»\ndb_password: «pw»\n", u=g.username(), pw=g.password("yaml_password", safe="-_.+=~^"))
    if g.chance(0.6):
        d.fmt("ansible_host: «ip»\n", ip=g.ip())
    if g.chance(0.5):
        d.fmt("letsencrypt_email: «e»\n", e=g.email())
    d.fmt(
        """ntp_servers:
  - 0.pool.ntp.org
  - «dns»
internal_subnet: «sub»/16
app_artifact_checksum: "sha256:«sum»"
vault_password_file: ~/.vault_pass.txt
""",
        dns=g.choice(DNS_RESOLVERS[:6]),
        sub=g.private_ip().rsplit(".", 2)[0] + ".0.0",
        sum=g.sha256(),
    )
    return name


def t_ansible_inventory(g: G, d: Doc):
    name = g.choice(["inventory/hosts.ini", "hosts", "inventories/prod/hosts.ini"])
    d.add("[web]\n")
    for i in range(g.r.randrange(2, 4)):
        d.fmt(
            "web0«i» ansible_host=«ip» ansible_user=«u»\n",
            i=i + 1,
            ip=g.ip(),
            u=g.choice(["ubuntu", "deploy", "ec2-user"]),
        )
    d.fmt(
        "\n[db]\ndb01 ansible_host=«pip» ansible_user=postgres ansible_password=«pw»\n\n[all:vars]\nansible_python_interpreter=/usr/bin/python3\nansible_ssh_common_args='-o StrictHostKeyChecking=no'\n",
        pip=g.private_ip(),
        pw=g.password("ini_password", safe="-_.+=~^!"),
    )
    return name


def t_terraform(g: G, d: Doc):
    p = g.proj()
    name = g.choice(["main.tf", f"infra/{p}/main.tf", "terraform/providers.tf", f"modules/{p}/rds.tf"])
    r = g.decide()
    d.fmt(
        """terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.31"
    }
  }
}

provider "aws" {
  region     = "«reg»"
  access_key = «a»
  secret_key = «s»
}

resource "aws_instance" "«pp»" {
  ami           = "«ami»"
  instance_type = "t3.medium"
  tags = { Name = "«p»", Owner = "«e»" }
}

resource "aws_security_group_rule" "ssh_office" {
  type        = "ingress"
  from_port   = 22
  to_port     = 22
  protocol    = "tcp"
  cidr_blocks = ["«ip»/32", "«vpc»/16"]
}
""",
        reg=g.choice(REGIONS),
        a=q(g.akid(force=r, alt="var.aws_access_key")),
        s=q(g.aws_secret(force=r, alt="var.aws_secret_key")),
        pp=p.replace("-", "_"),
        ami=g.ami(),
        p=p,
        e=g.email(),
        ip=g.ip(),
        vpc=g.private_ip().rsplit(".", 2)[0] + ".0.0",
    )
    if g.chance(0.6):
        d.fmt(
            """
resource "aws_db_instance" "main" {
  engine         = "postgres"
  engine_version = "15.4"
  username       = "«u»"
  password       = "«pw»"
  kms_key_id     = "arn:aws:kms:«reg»:«acct»:key/«uu»"
}
""",
            u=g.username(),
            pw=g.password("tf_password", safe="!#%*-_.+=?~^"),
            reg=g.choice(REGIONS),
            acct=g.acct(),
            uu=g.uuid(),
        )
    return name


def t_tfvars(g: G, d: Doc):
    name = g.choice(["terraform.tfvars", "prod.auto.tfvars", "envs/staging/terraform.tfvars"])
    d.fmt(
        'environment = "«env»"\nregion      = "«reg»"\nami_id      = "«ami»"\n',
        env=g.choice(["prod", "staging"]),
        reg=g.choice(REGIONS),
        ami=g.ami(),
    )
    d.fmt('db_password = "«pw»"\n', pw=g.password("tf_password", safe="!#%*-_.+=?~^"))
    d.fmt('cloudflare_api_token = "«t»"\n', t=g.generic_key("cloudflare_token"))
    if g.chance(0.6):
        d.fmt('datadog_api_key = "«k»"\n', k=g.datadog())
    d.fmt('admin_cidrs = ["«a»/32", "«b»/32", "«c»/8"]\n', a=g.ip(), b=g.ip(), c="10.0.0.0")
    d.fmt('state_lock_table_hash = "«md5»"\n', md5=g.md5())
    return name


def t_aws_credentials(g: G, d: Doc):
    name = g.choice([".aws/credentials", "home/deploy/.aws/credentials", "ci/aws_credentials", "credentials"])
    r = g.decide()
    d.fmt(
        "[default]\naws_access_key_id = «a»\naws_secret_access_key = «s»\n", a=g.akid(force=r), s=g.aws_secret(force=r)
    )
    if g.chance(0.4):
        d.fmt("aws_session_token = «t»\n", t=g.aws_session_token(force=r))
    if g.chance(0.6):
        r2 = g.decide()
        d.fmt(
            "\n[«prof»]\naws_access_key_id=«a»\naws_secret_access_key=«s»\nregion=«reg»\n",
            prof=g.choice(["staging", "ml-research", "backup"]),
            a=g.akid(force=r2),
            s=g.aws_secret(force=r2),
            reg=g.choice(REGIONS),
        )
    d.fmt(
        "\n# docs example profile, not a real key\n[example]\naws_access_key_id = «a»\naws_secret_access_key = «s»\n",
        a=AWS_EXAMPLE_ID,
        s=AWS_EXAMPLE_SECRET,
    )
    return name


def t_rails_storage(g: G, d: Doc):
    name = g.choice(["config/storage.yml", "config/s3.yml", "config/aws.yml"])
    r = g.decide()
    d.fmt(
        """test:
  service: Disk
  root: <%= Rails.root.join("tmp/storage") %>

local:
  service: Disk
  root: <%= Rails.root.join("storage") %>

amazon:
  service: S3
  access_key_id: «a»
  secret_access_key: «s»
  region: «reg»
  bucket: «p»-uploads-«env»

# digest of the last migrated blob manifest: «sha»
""",
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
        reg=g.choice(REGIONS),
        p=g.proj(),
        env=g.choice(["prod", "staging"]),
        sha=g.sha1(),
    )
    return name


def t_serverless(g: G, d: Doc):
    p = g.proj()
    name = g.choice(["serverless.yml", f"functions/{p}/serverless.yml", "template.yaml"])
    r = g.decide()
    d.fmt(
        """service: «p»
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  region: «reg»
  iam:
    role: arn:aws:iam::«acct»:role/«p»-lambda
  environment:
    STAGE: ${sls:stage}
    AWS_KEY_ID: «a»
    AWS_SECRET_KEY: «s»
    TABLE_NAME: !Ref UsersTable
""",
        p=p,
        reg=g.choice(REGIONS),
        acct=g.acct(),
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
    )
    if g.chance(0.5):
        d.fmt("    SLACK_BOT_TOKEN: «t»\n", t=g.slack_token())
    if g.chance(0.4):
        d.fmt("    JWT_SIGNING_SECRET: «k»\n", k=g.generic_key("jwt_secret"))
    d.fmt(
        "functions:\n  handler:\n    handler: handler.main\n    layers:\n      - arn:aws:lambda:«reg»:«acct»:layer:deps:«n»\n",
        reg=g.choice(REGIONS),
        acct=g.acct(),
        n=g.r.randrange(3, 40),
    )
    return name


def t_helm_values(g: G, d: Doc):
    p = g.proj()
    name = g.choice(["values.yaml", f"charts/{p}/values.yaml", f"helm/{p}/values-prod.yaml"])
    r = g.decide()
    d.fmt(
        """replicaCount: «n»
image:
  repository: ghcr.io/«org»/«p»
  tag: "«ver»"
  digest: sha256:«dig»
ingress:
  enabled: true
  hosts:
    - host: «p».«dom»
postgresql:
  auth:
    username: «u»
    password: «pw»
    database: «db»
s3:
  endpoint: https://s3.«reg».amazonaws.com
  accessKeyId: «a»
  secretAccessKey: «s»
""",
        n=g.r.randrange(1, 6),
        org=g.choice(["acme", "northpeak", "quillstack"]),
        p=p,
        ver=g.version(),
        dig=g.sha256(),
        dom=g.choice(ORG_DOMAINS),
        u=g.username(),
        pw=g.password("yaml_password", safe="-_.+=~^"),
        db=p.replace("-", "_"),
        reg=g.choice(REGIONS),
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
    )
    if g.chance(0.6):
        d.fmt(
            "service:\n  type: LoadBalancer\n  loadBalancerSourceRanges:\n    - «a»/32\n    - «b»/32\n",
            a=g.ip(),
            b=g.ip(),
        )
    d.fmt(
        "podAnnotations:\n  checksum/secret: «sum»\nresources:\n  limits: {cpu: 500m, memory: 512Mi}\n", sum=g.sha256()
    )
    return name


def t_django(g: G, d: Doc):
    p = g.proj().replace("-", "_")
    name = g.choice([f"{p}/settings.py", f"{p}/settings/production.py", "config/settings/base.py"])
    f, lname, full = g.person()
    d.fmt(
        '''"""Django settings for «p» project."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = '«sk»'
DEBUG = False
ALLOWED_HOSTS = ["«p».«dom»", "localhost", "127.0.0.1", "«ip»"]

ADMINS = [("«full»", "«e»")]
DEFAULT_FROM_EMAIL = "noreply@example.com"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "«p»",
        "USER": "«u»",
        "PASSWORD": "«pw»",
        "HOST": "«h»",
        "PORT": "5432",
    }
}

AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
AWS_STORAGE_BUCKET_NAME = "«p»-static"
''',
        p=p,
        sk=g.django_secret(),
        dom=g.choice(ORG_DOMAINS),
        ip=g.ip(alt="0.0.0.0"),
        full=full,
        e=g.email(f, lname),
        u=g.username(),
        pw=g.password("code_password", safe="!#%*-_.+=?~^"),
        h=g.choice([g.private_ip(), "db"]),
    )
    if g.chance(0.5):
        d.fmt(
            'EMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = "«k»"\n',
            k=g.sendgrid(),
        )
    d.fmt(
        'STATICFILES_STORAGE = "storages.backends.s3boto3.S3Boto3Storage"\nCSRF_TRUSTED_ORIGINS = ["https://«p».«dom»"]\n',
        p=p,
        dom=g.choice(ORG_DOMAINS),
    )
    return name


def t_flask(g: G, d: Doc):
    p = g.proj().replace("-", "_")
    name = g.choice(["config.py", f"{p}/config.py", "instance/config.py"])
    d.fmt(
        """import os


class Config:
    SECRET_KEY = "«sk»"
    SQLALCHEMY_DATABASE_URI = "mysql+pymysql://«u»:«pw»@«h»:3306/«p»"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAIL_SERVER = "smtp.«dom»"
    MAIL_USERNAME = "«mu»"
    MAIL_PASSWORD = "«mpw»"
    MAIL_DEFAULT_SENDER = "«sender»"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-not-real"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    MAIL_DEFAULT_SENDER = "tests@example.com"
""",
        sk=g.generic_key("app_secret_key"),
        u=g.username(),
        pw=g.url_password(),
        h=g.choice([g.host(), g.ip(alt=g.private_ip)]),
        p=p,
        dom=g.choice(ORG_DOMAINS),
        mu=g.email(),
        mpw=g.password("code_password", safe="!#%*-_.+=?~^"),
        sender=g.email(),
    )
    if g.chance(0.5):
        d.fmt(
            '\n\nclass ProdConfig(Config):\n    STRIPE_SECRET_KEY = "«k»"\n    STRIPE_API_VERSION = "2023-10-16"\n',
            k=g.stripe(),
        )
    return name


def t_node_config(g: G, d: Doc):
    p = g.proj()
    name = g.choice(
        ["config/default.js", "config.js", f"src/config/{g.choice(['production', 'index'])}.js", "server/config.js"]
    )
    d.fmt(
        """'use strict';

module.exports = {
  env: process.env.NODE_ENV || 'development',
  port: 3000,
  db: {
    host: '«h»',
    user: '«u»',
    password: '«pw»',
    database: '«db»',
  },
  mongoUri: 'mongodb+srv://«mu»:«mpw»@cluster0.«cl».mongodb.net/«db»?retryWrites=true&w=majority',
  jwtSecret: '«js»',
  sessionIdFormat: '«uu»',
""",
        h=g.choice([g.private_ip(), "localhost"]),
        u=g.username(),
        pw=g.password("code_password", safe="!#%*-_.+=?~^"),
        db=p.replace("-", "_"),
        mu=g.username(),
        mpw=g.url_password(),
        cl=g.rs(string.ascii_lowercase + string.digits, 5),
        js=g.generic_key("jwt_secret"),
        uu=g.uuid(),
    )
    if g.chance(0.5):
        d.fmt("  stripe: { secretKey: '«k»', apiVersion: '2023-10-16' },\n", k=g.stripe())
    if g.chance(0.5):
        d.fmt("  sendgrid: { apiKey: '«k»', from: '«e»' },\n", k=g.sendgrid(), e=g.email())
    d.add("  assetsBase: '/static/',\n};\n")
    return name


def t_package_json(g: G, d: Doc):
    p = g.proj()
    f, lname, full = g.person()
    name = g.choice(["package.json", f"packages/{p}/package.json", f"web/{p}/package.json"])
    d.fmt(
        """{
  "name": "@«org»/«p»",
  "version": "«ver»",
  "description": "«p» service",
  "author": "«full» <«e»>",
  "contributors": [
    { "name": "«cn»", "email": "«ce»" },
    { "name": "Docs Bot", "email": "«de»" }
  ],
  "repository": { "type": "git", "url": "git@github.com:«org»/«p».git" },
  "scripts": {
    "build": "tsc -p .",
    "test": "jest --coverage",
""",
        org=g.choice(["acme", "northpeak", "lumenlabs"]),
        p=p,
        ver=g.version(),
        full=full,
        e=g.email(f, lname),
        cn=(c := g.person())[2],
        ce=g.email(c[0], c[1]),
        de=g.decoy_email(),
    )
    if g.chance(0.6):
        d.fmt('    "release": "NPM_TOKEN=«t» npm publish --access public",\n', t=g.npm())
    d.fmt(
        """    "lint": "eslint ."
  },
  "dependencies": { "express": "^4.18.2", "jsonwebtoken": "^9.0.2" },
  "gitHead": "«sha»"
}
""",
        sha=g.sha1(),
    )
    return name


def t_package_lock(g: G, d: Doc):
    name = g.choice(["package-lock.json", "web/package-lock.json"])
    d.fmt(
        '{\n  "name": "«p»",\n  "version": "«v»",\n  "lockfileVersion": 3,\n  "requires": true,\n  "packages": {\n',
        p=g.proj(),
        v=g.version(),
    )
    pkgs = g.r.sample(
        ["express", "debug", "ms", "jsonwebtoken", "lodash", "semver", "safe-buffer", "bytes", "qs", "cookie"], 5
    )
    for i, pk in enumerate(pkgs):
        v = g.version()
        d.fmt(
            '    "node_modules/«pk»": {\n      "version": "«v»",\n      "resolved": "https://registry.npmjs.org/«pk»/-/«pk»-«v».tgz",\n      "integrity": "«sri»"\n    }«c»\n',
            pk=pk,
            v=v,
            sri=g.sri(),
            c="," if i < len(pkgs) - 1 else "",
        )
    d.add("  }\n}\n")
    return name


def t_npmrc(g: G, d: Doc):
    name = g.choice([".npmrc", "frontend/.npmrc", ".yarnrc"])
    d.fmt(
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=«t»\n@«org»:registry=https://npm.pkg.github.com/\n//npm.pkg.github.com/:_authToken=«gh»\nemail=«e»\nalways-auth=true\n",
        t=g.npm(alt="${NPM_TOKEN}"),
        org=g.choice(["acme", "northpeak"]),
        gh=g.github(alt="${GITHUB_TOKEN}"),
        e=g.email(),
    )
    return name


def nb_cell(d: Doc, cell_type: str, lines: list, outputs: str | None, last: bool, n: int):
    d.add('  {\n   "cell_type": ', json.dumps(cell_type), ",\n")
    if cell_type == "code":
        d.add(f'   "execution_count": {n},\n')
    d.add('   "metadata": {},\n')
    if cell_type == "code":
        d.add('   "outputs": ', outputs or "[]", ",\n")
    d.add('   "source": [\n')
    for i, parts in enumerate(lines):
        d.add("    ")
        if not isinstance(parts, (list, tuple)):
            parts = [parts]
        d.jstr(*parts, "\n" if i < len(lines) - 1 else "")
        d.add(",\n" if i < len(lines) - 1 else "\n")
    d.add("   ]\n  }", "\n" if last else ",\n")


def t_notebook(g: G, d: Doc):
    name = g.choice(
        [
            "notebooks/finetune.ipynb",
            "train_lora.ipynb",
            "examples/inference_demo.ipynb",
            "notebooks/eda.ipynb",
            "Untitled1.ipynb",
        ]
    )
    d.add('{\n "cells": [\n')
    cells = []
    cells.append(
        (
            "markdown",
            [
                "# " + g.choice(["Fine-tuning", "Quick inference demo", "Data exploration"]),
                "",
                "Run the cells in order.",
            ],
            None,
        )
    )
    k = g.r.randrange(3)
    if k == 0:
        cells.append(
            (
                "code",
                [
                    "from huggingface_hub import login",
                    "",
                    ['login(token="', g.hf(alt="hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), '")'],
                ],
                None,
            )
        )
    elif k == 1:
        cells.append(("code", [["!huggingface-cli login --token ", g.hf(alt="$HF_TOKEN")]], None))
    else:
        cells.append(("code", ["import os", ['os.environ["HF_TOKEN"] = "', g.hf(alt="<HF_TOKEN>"), '"']], None))
    cells.append(
        (
            "code",
            [
                "from transformers import AutoModelForCausalLM, AutoTokenizer",
                [
                    'model_id = "',
                    g.choice(["bigcode/starcoder2-3b", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1"]),
                    '"',
                ],
                ['revision = "', g.sha1(), '"  # pinned commit'],
                "tok = AutoTokenizer.from_pretrained(model_id, revision=revision)",
            ],
            None,
        )
    )
    if g.chance(0.5):
        cells.append(
            (
                "code",
                [
                    "from openai import OpenAI",
                    ["client = OpenAI(api_key=", *q(g.openai(alt="os.environ['OPENAI_API_KEY']")), ")"],
                ],
                None,
            )
        )
    if g.chance(0.5):
        cells.append(
            ("code", ["from huggingface_hub import HfApi", ['api = HfApi(token="', g.hf(), '")'], "api.whoami()"], None)
        )
    img = g.data_uri().split(",", 1)[1]
    outputs = (
        '[\n    {\n     "data": {\n      "image/png": "'
        + img
        + '",\n      "text/plain": [\n       "<Figure size 640x480 with 1 Axes>"\n      ]\n     },\n     "metadata": {},\n     "output_type": "display_data"\n    }\n   ]'
    )
    cells.append(("code", ["import matplotlib.pyplot as plt", "plt.plot(losses)"], outputs))
    n = 1
    for i, (ct, lines, outs) in enumerate(cells):
        nb_cell(d, ct, lines, outs, i == len(cells) - 1, n)
        n += ct == "code"
    d.fmt(
        ' ],\n "metadata": {\n  "kernelspec": {\n   "display_name": "Python 3",\n   "language": "python",\n   "name": "python3"\n  },\n  "language_info": {\n   "name": "python",\n   "version": "3.11.«v»"\n  }\n },\n "nbformat": 4,\n "nbformat_minor": 5\n}\n',
        v=g.r.randrange(0, 9),
    )
    return name


def t_pytest_jwt(g: G, d: Doc):
    p = g.proj().replace("-", "_")
    name = g.choice(
        ["tests/conftest.py", f"tests/test_{g.choice(['auth', 'api', 'middleware'])}.py", f"{p}/tests/fixtures.py"]
    )
    d.fmt(
        """import pytest

from «p».auth import decode_token

# Fake values for unit tests; they are not real credentials.
FAKE_API_KEY = "fake-api-key-for-tests"
DUMMY_SECRET = "not-a-real-secret"
REQUEST_ID = "«uu»"

# captured from the staging identity provider
STAGING_TOKEN = "«j1»"


@pytest.fixture
def auth_headers():
    return {"Authorization": "Bearer «j2»", "X-Request-Id": REQUEST_ID}
""",
        p=p,
        uu=g.uuid(),
        j1=g.jwt(alt="<paste token here>"),
        j2=g.jwt(),
    )
    if g.chance(0.5):
        d.fmt(
            """

@pytest.fixture
def service_account():
    return {"email": "«e»", "client_secret": "«cs»"}
""",
            e=g.email(),
            cs=g.generic_key("client_secret"),
        )
    d.add("""

def test_decode(auth_headers):
    token = auth_headers["Authorization"].split()[1]
    assert decode_token(token, verify=False)["exp"] > 0
""")
    return name


def t_curl_script(g: G, d: Doc):
    name = g.choice(["scripts/smoke_test.sh", "bin/call-api.sh", "tools/reindex.sh", "scripts/backup.sh"])
    dom = g.choice(ORG_DOMAINS)
    d.fmt(
        """#!/usr/bin/env bash
set -euo pipefail
# usage: ./«nm» [env]
API=https://api.«dom»/v1
TOKEN="«j»"

curl -sS -H "Authorization: Bearer $TOKEN" "$API/status"
""",
        nm=name.rsplit("/", 1)[-1],
        dom=dom,
        j=g.jwt(alt="${API_TOKEN:?set API_TOKEN}"),
    )
    k = g.r.randrange(3)
    if k == 0:
        d.fmt(
            "curl -u «u»:«pw» https://«ip»:9200/_cluster/health\n",
            u=g.choice(["elastic", "admin"]),
            pw=g.url_password("basic_auth_password"),
            ip=g.ip(),
        )
    elif k == 1:
        d.fmt('curl -H "X-API-Key: «k»" "$API/reindex?since=«d»"\n', k=g.generic_key("generic_api_key"), d="2024-01-01")
    else:
        d.fmt('ssh deploy@«ip» "sudo systemctl restart «p»"\n', ip=g.ip(), p=g.proj())
    d.fmt(
        'curl -sS -H "Authorization: Bearer «j»" "$API/jobs/«uu»"\necho "expected checksum «sha»"\n',
        j=g.jwt(),
        uu=g.uuid(),
        sha=g.sha256(),
    )
    return name


def t_readme(g: G, d: Doc):
    p = g.proj()
    f, lname, full = g.person()
    name = g.choice(["README.md", f"docs/{p}.md", "docs/api/authentication.md", f"{p}/README.md"])
    dom = g.choice(ORG_DOMAINS)
    d.fmt(
        """# «p»

![build](https://img.shields.io/badge/build-passing-green) ![version](https://img.shields.io/badge/version-«ver»-blue)

## Quick start

```bash
pip install «p»==«ver»
export API_TOKEN=<YOUR_TOKEN>
curl -H "Authorization: Bearer $API_TOKEN" https://api.«dom»/v1/me
```

A working example against staging:

```bash
curl -H "Authorization: Bearer «j»" \\
     https://staging-api.«dom»/v1/me
```
""",
        p=p,
        ver=g.version(),
        dom=dom,
        j=g.jwt(),
    )
    if g.chance(0.6):
        d.fmt(
            "\nTo download the weights, log in first:\n\n```\nhuggingface-cli login --token «t»\n```\n",
            t=g.hf(alt="$HF_TOKEN"),
        )
    if g.chance(0.4):
        d.fmt('\n```python\nimport openai\nopenai.api_key = "«k»"\n```\n', k=g.openai())
    d.fmt(
        """
## Contact

Questions: «full» <«e»>. Please do not write to «de».
The mirror at `«pub»` is public; the builders talk to `«priv»` inside the VPC.
""",
        full=full,
        e=g.email(f, lname),
        de=g.decoy_email(),
        pub=g.ip(),
        priv=g.private_ip(),
    )
    return name


def t_java_props(g: G, d: Doc):
    name = g.choice(
        [
            "src/main/resources/application.properties",
            "src/main/resources/application-prod.properties",
            "config/app.properties",
        ]
    )
    d.fmt(
        """# Spring Boot configuration
spring.application.name=«p»
server.port=8080
spring.datasource.url=jdbc:postgresql://«h»:5432/«db»
spring.datasource.username=«u»
spring.datasource.password=«pw»
spring.jpa.hibernate.ddl-auto=validate
info.app.version=«ver»
""",
        p=g.proj(),
        h=g.ip(alt=g.private_ip),
        db=g.proj().replace("-", "_"),
        u=g.username(),
        pw=g.password("properties_password", safe="!#%*-_.+=?~^"),
        ver=g.version(4),
    )
    if g.chance(0.6):
        d.fmt(
            "spring.mail.host=smtp.gmail.com\nspring.mail.username=«e»\nspring.mail.password=«pw»\n",
            e=g.email(),
            pw=g.password("properties_password", safe="!#%*-_.+=?~^"),
        )
    if g.chance(0.5):
        r = g.decide()
        d.fmt(
            "cloud.aws.credentials.access-key=«a»\ncloud.aws.credentials.secret-key=«s»\n",
            a=g.akid(force=r),
            s=g.aws_secret(force=r),
        )
    d.fmt(
        "jwt.secret=«k»\njwt.expiration=3600\nmanagement.endpoints.web.exposure.include=health,info\n",
        k=g.generic_key("jwt_secret", alt="${JWT_SECRET}"),
    )
    return name


def t_go(g: G, d: Doc):
    name = g.choice(["internal/config/config.go", "cmd/server/main.go", "pkg/notify/slack.go", "internal/db/db.go"])
    d.fmt(
        """package config

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/go-sql-driver/mysql"
)

// Version is set at build time; the default below is the last tagged release.
var Version = "«ver»"

const (
	defaultDSN   = "«u»:«pw»@tcp(«h»:3306)/«db»?parseTime=true"
	slackWebhook = "https://hooks.slack.com/services/«w»"
	buildID      = "«uu»"
)
""",
        ver=g.version(),
        u=g.username(),
        pw=g.url_password(),
        h=g.choice([g.ip(alt=g.private_ip), g.private_ip()]),
        db=g.proj().replace("-", "_"),
        w=g.slack_webhook_path(),
        uu=g.uuid(),
    )
    if g.chance(0.5):
        d.fmt('\nvar apiKey = "«k»"\n', k=g.generic_key("generic_api_key"))
    d.add("""
func Open() (*sql.DB, error) {
	dsn := os.Getenv("DATABASE_DSN")
	if dsn == "" {
		dsn = defaultDSN
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return db, nil
}
""")
    return name


def t_rust(g: G, d: Doc):
    name = g.choice(["src/main.rs", "src/github.rs", "src/client.rs"])
    d.fmt(
        """use reqwest::header::{HeaderMap, AUTHORIZATION, USER_AGENT};

const GITHUB_TOKEN: &str = "«t»";
const DATABASE_URL: &str = "postgres://«u»:«pw»@«h»/«db»";
const SCHEMA_HASH: &str = "«sha»";

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, format!("token {}", GITHUB_TOKEN).parse().unwrap());
    h.insert(USER_AGENT, "«p»/«ver»".parse().unwrap());
    h
}
""",
        t=g.github(),
        u=g.username(),
        pw=g.url_password(),
        h=g.choice([g.host(), "localhost:5432"]),
        db=g.proj().replace("-", "_"),
        sha=g.sha256(),
        p=g.proj(),
        ver=g.version(),
    )
    if g.chance(0.4):
        d.fmt('\n// maintainer: «e»\nconst TELEGRAM_BOT: &str = "«k»";\n', e=g.email(), k=g.telegram())
    return name


def t_cargo_lock(g: G, d: Doc):
    name = g.choice(["Cargo.lock", "cli/Cargo.lock"])
    d.add("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n")
    for pk in g.r.sample(["serde", "tokio", "reqwest", "anyhow", "clap", "regex", "hyper", "bytes"], 5):
        d.fmt(
            '\n[[package]]\nname = "«pk»"\nversion = "«v»"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "«sum»"\n',
            pk=pk,
            v=g.version(),
            sum=g.sha256(),
        )
    return name


def t_pem(g: G, d: Doc):
    name = g.choice(
        ["certs/server.key", "deploy/keys/id_rsa", ".ssh/id_ed25519", "config/jwt/private.pem", "tls/tls.key"]
    )
    kind = "OPENSSH" if "id_" in name else g.choice(["RSA", "PKCS8", "EC"])
    if g.chance(0.3):
        d.fmt("# key for «h», rotated «d»\n", h=g.choice(["staging", "jenkins", "api-gw"]), d="2024-02-11")
    d.add(g.pem(kind=kind, force=True), "\n")
    return name


def t_cert(g: G, d: Doc):
    name = g.choice(["certs/ca.crt", "config/ssl/chain.pem", "tls/server.crt"])
    d.fmt(
        "# subject: CN=«h»\n# SHA256 Fingerprint=«fp»\n«c»\n",
        h=g.choice(["api.internal", "ca.corp"]),
        fp=":".join(g.sha256()[i : i + 2].upper() for i in range(0, 64, 2)),
        c=g.cert(),
    )
    return name


def t_gcp_sa(g: G, d: Doc):
    proj = g.proj() + "-" + str(g.r.randrange(100000, 999999))
    sa = g.choice(["deployer", "ml-training", "ci-uploader", "bq-reader"])
    name = g.choice(
        [f"{proj}-{g.rs(HEX, 12)}.json", "credentials/service-account.json", "gcp-key.json", "secrets/gcs.json"]
    )
    d.fmt(
        '{\n  "type": "service_account",\n  "project_id": "«p»",\n  "private_key_id": "«kid»",\n  "private_key": "',
        p=proj,
        kid=g.sha1(),
    )
    d.add(g.pem(kind="PKCS8", escaped=True, force=True, sk="gcp_service_account_key"), '\\n",\n')
    d.fmt(
        '  "client_email": "«e»",\n  "client_id": "«cid»",\n  "auth_uri": "https://accounts.google.com/o/oauth2/auth",\n  "token_uri": "https://oauth2.googleapis.com/token",\n  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",\n  "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/«sa»%40«p».iam.gserviceaccount.com",\n  "universe_domain": "googleapis.com"\n}\n',
        e=g.email(domain=f"{proj}.iam.gserviceaccount.com", alt=f"{sa}@project-id.iam.gserviceaccount.example"),
        cid=g.r.randrange(10**20, 10**21),
        sa=sa,
        p=proj,
    )
    return name


def t_access_log(g: G, d: Doc):
    name = g.choice(["logs/access.log", "var/log/nginx/access.log", "logs/nginx-2024-03-02.log"])
    ua = [
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{g.version(4)} Safari/537.36",
        "curl/8.4.0",
        f"python-requests/{g.version()}",
        "Go-http-client/2.0",
    ]
    n = g.r.randrange(5, 9)
    for _ in range(n):
        if g.chance(0.45):
            ip = g.ip() if g.chance(0.7) else g.ip6()
        else:
            ip = g.decoy_ip()
        d.fmt(
            '«ip» - - [02/Mar/2024:1«h»:«m»:«s» +0000] "«meth» «path» HTTP/1.1" «st» «sz» "-" "«ua»" rid=«rid»\n',
            ip=ip,
            h=g.r.randrange(10),
            m=f"{g.r.randrange(60):02d}",
            s=f"{g.r.randrange(60):02d}",
            meth=g.choice(["GET", "POST"]),
            path=g.choice(["/", "/api/v1/items?page=2", "/healthz", "/static/app.3f2a9c.js", "/login"]),
            st=g.choice([200, 200, 304, 404, 401]),
            sz=g.r.randrange(100, 90000),
            ua=g.choice(ua),
            rid=g.uuid(),
        )
    return name


def t_app_log(g: G, d: Doc):
    name = g.choice(["logs/app.log", "worker.log", "logs/celery-worker.log", "debug.log"])
    lines = [
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:22:01,113 INFO auth: login ok user=«e» ip=«ip»\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            e=g.email(),
            ip=g.ip(),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:22:04,530 INFO db: connecting to «pip»:5432 (pool=«n»)\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            pip=g.private_ip(),
            n=g.r.randrange(2, 20),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:23:11,002 WARNING mail: bounce from «de», skipping\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            de=g.decoy_email(),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:24:40,871 ERROR upstream «ip» timed out after 30s (task «uu»)\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            ip=g.ip6() if g.chance(0.3) else g.ip(),
            uu=g.uuid(),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:25:00,000 INFO build «sha» version «v» started\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            sha=g.sha1(),
            v=g.version(4),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:26:13,442 INFO notify: sent report to «e»\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            e=g.email(),
        ),
        lambda: d.fmt(
            "2024-03-0«d» 1«h»:27:09,019 DEBUG resolver «dns» answered in 12ms\n",
            d=g.r.randrange(1, 9),
            h=g.r.randrange(10),
            dns=g.choice(DNS_RESOLVERS),
        ),
    ]
    for fn in g.r.sample(lines, g.r.randrange(4, 7)):
        fn()
    return name


def t_auth_log(g: G, d: Doc):
    name = g.choice(["var/log/auth.log", "logs/sshd.log", "incident/2024-02-auth.log"])
    for _ in range(g.r.randrange(4, 7)):
        k = g.r.randrange(4)
        pid = g.r.randrange(1000, 60000)
        if k == 0:
            d.fmt(
                "Feb 11 0«h»:1«m»:22 bastion sshd[«pid»]: Failed password for root from «ip» port «pt» ssh2\n",
                h=g.r.randrange(10),
                m=g.r.randrange(10),
                pid=pid,
                ip=g.ip(),
                pt=g.r.randrange(1024, 65535),
            )
        elif k == 1:
            d.fmt(
                "Feb 11 0«h»:1«m»:23 bastion sshd[«pid»]: Accepted publickey for deploy from «pip» port «pt» ssh2: ED25519 SHA256:«fp»\n",
                h=g.r.randrange(10),
                m=g.r.randrange(10),
                pid=pid,
                pip=g.private_ip(),
                pt=g.r.randrange(1024, 65535),
                fp=g.b64(32).rstrip("="),
            )
        elif k == 2:
            d.fmt(
                "Feb 11 0«h»:1«m»:30 bastion sshd[«pid»]: Invalid user admin from «ip» port «pt»\n",
                h=g.r.randrange(10),
                m=g.r.randrange(10),
                pid=pid,
                ip=g.ip6() if g.chance(0.25) else g.ip(),
                pt=g.r.randrange(1024, 65535),
            )
        else:
            d.fmt(
                "Feb 11 0«h»:1«m»:31 bastion sudo: deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx\n",
                h=g.r.randrange(10),
                m=g.r.randrange(10),
            )
    return name


def t_authors(g: G, d: Doc):
    name = g.choice(["AUTHORS", "AUTHORS.md", "CONTRIBUTORS.txt", "MAINTAINERS"])
    d.add("# Names should be added to this file as:\n#     Name <email address>\n\n")
    for _ in range(g.r.randrange(3, 7)):
        f, lname, full = g.person()
        if g.chance(0.75):
            d.fmt("«full» <«e»>\n", full=full, e=g.email(f, lname))
        else:
            d.fmt("«full» (@«h»)\n", full=full, h=f.replace("-", "") + lname[:3])
    d.fmt("Release Bot <«de»>\n", de=g.decoy_email())
    return name


def t_codeowners(g: G, d: Doc):
    name = g.choice([".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"])
    d.fmt(
        "# Each line is a file pattern followed by one or more owners.\n*       @«org»/core\n/docs/  @«org»/docs-team\n",
        org=g.choice(["acme", "northpeak", "quillstack"]),
    )
    for pat in g.r.sample(["/infra/", "*.tf", "/src/auth/", "/ml/", "package.json", "/.github/"], g.r.randrange(2, 5)):
        if g.chance(0.6):
            d.fmt("«pat» «e»\n", pat=pat, e=g.email())
        else:
            d.fmt("«pat» @«u»\n", pat=pat, u=g.choice(FIRST).replace("-", "") + str(g.r.randrange(1, 99)))
    return name


def t_setup_cfg(g: G, d: Doc):
    p = g.proj()
    f, lname, full = g.person()
    name = g.choice(["setup.cfg", f"{p}/setup.cfg"])
    d.fmt(
        """[metadata]
name = «p»
version = «ver»
author = «full»
author_email = «e»
maintainer_email = «me»
url = https://github.com/«org»/«p»
license = Apache-2.0
classifiers =
    Programming Language :: Python :: 3.11

[options]
packages = find:
install_requires =
    requests>=2.31
    pyyaml>=6.0.1

[tool:pytest]
addopts = -ra
""",
        p=p,
        ver=g.version(),
        full=full,
        e=g.email(f, lname),
        me=g.email(),
        org=g.choice(["acme", "northpeak"]),
    )
    if g.chance(0.3):
        d.fmt("\n[upload]\nrepository = https://upload.pypi.org/legacy/\npassword = «t»\n", t=g.pypi())
    return name


def t_pyproject(g: G, d: Doc):
    p = g.proj()
    name = g.choice(["pyproject.toml", f"packages/{p}/pyproject.toml"])
    d.fmt('[project]\nname = "«p»"\nversion = "«ver»"\nrequires-python = ">=3.9"\nauthors = [\n', p=p, ver=g.version())
    for _ in range(g.r.randrange(1, 4)):
        f, lname, full = g.person()
        d.fmt('  { name = "«full»", email = "«e»" },\n', full=full, e=g.email(f, lname))
    d.fmt(
        ']\nmaintainers = [{ name = "Packaging Team", email = "«de»" }]\n\n[project.urls]\nHomepage = "https://«p».readthedocs.io"\n\n[tool.setuptools_scm]\nfallback_version = "0.0.0"\n',
        de=g.decoy_email(),
        p=p,
    )
    return name


def t_nginx_conf(g: G, d: Doc):
    name = g.choice(["nginx/conf.d/default.conf", "deploy/nginx.conf", "etc/nginx/sites-available/api"])
    d.fmt(
        "upstream app {\n    server «a»:8000;\n    server «b»:8000;\n}\n\nserver {\n    listen 443 ssl;\n    listen [::]:443 ssl;\n    server_name api.«dom»;\n    resolver «dns» valid=300s;\n\n    location /admin/ {\n",
        a=g.private_ip(),
        b=g.private_ip(),
        dom=g.choice(ORG_DOMAINS),
        dns=g.choice(DNS_RESOLVERS[:8]),
    )
    for _ in range(g.r.randrange(1, 4)):
        d.fmt("        allow «ip»;\n", ip=g.ip6() if g.chance(0.4) else g.ip())
    d.fmt(
        "        allow «pip»/24;\n        deny all;\n        proxy_pass http://app;\n    }\n    add_header Content-Security-Policy \"script-src 'sha256-«b»'\";\n}\n",
        pip=g.private_ip().rsplit(".", 1)[0] + ".0",
        b=g.b64(32),
    )
    return name


def t_slack_py(g: G, d: Doc):
    name = g.choice(["alerts/notify.py", "scripts/post_to_slack.py", "ops/alerting.py"])
    d.fmt(
        '''"""Post deploy notifications to Slack."""
import json
import urllib.request

WEBHOOK_URL = "https://hooks.slack.com/services/«w»"
BOT_TOKEN = "«t»"
CHANNEL = "#deploys"
ICON = "https://cdn.«dom»/img/icon@2x.png"


def notify(text: str) -> None:
    body = json.dumps({"text": text, "channel": CHANNEL}).encode()
    req = urllib.request.Request(WEBHOOK_URL, data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10)
''',
        w=g.slack_webhook_path(),
        t=g.slack_token(),
        dom=g.choice(ORG_DOMAINS),
    )
    return name


def t_pypirc(g: G, d: Doc):
    name = g.choice([".pypirc", "home/ci/.pypirc"])
    d.fmt(
        "[distutils]\nindex-servers =\n    pypi\n    internal\n\n[pypi]\nusername = __token__\npassword = «t»\n\n[internal]\nrepository = https://pypi.«dom»/simple/\nusername = «u»\npassword = «pw»\n",
        t=g.pypi(),
        dom=g.choice(ORG_DOMAINS),
        u=g.username(),
        pw=g.password("ini_password", safe="!*-_.+=?~^"),
    )
    return name


def t_git_credentials(g: G, d: Doc):
    name = g.choice([".git-credentials", "home/dev/.git-credentials", ".gitconfig"])
    if name.endswith("gitconfig"):
        f, lname, full = g.person()
        d.fmt(
            '[user]\n\tname = «full»\n\temail = «e»\n[url "https://«t»@github.com/"]\n\tinsteadOf = https://github.com/\n[core]\n\teditor = vim\n',
            full=full,
            e=g.email(f, lname),
            t=g.github(),
        )
    else:
        d.fmt(
            "https://«u»:«t»@github.com\nhttps://oauth2:«gl»@gitlab.«dom»\n",
            u=g.choice(FIRST).replace("-", ""),
            t=g.github(),
            gl=g.gitlab(),
            dom=g.choice(ORG_DOMAINS),
        )
    return name


def t_dockerfile(g: G, d: Doc):
    name = g.choice(["Dockerfile", "docker/Dockerfile.gpu", f"services/{g.proj()}/Dockerfile"])
    d.fmt(
        'FROM python:3.11-slim@sha256:«dig»\nLABEL maintainer="«e»"\nLABEL org.opencontainers.image.version="«ver»"\nARG NPM_TOKEN\nENV PIP_NO_CACHE_DIR=1\n',
        dig=g.sha256(),
        e=g.email(),
        ver=g.version(),
    )
    if g.chance(0.7):
        d.fmt("ENV HF_TOKEN=«t»\n", t=g.hf(alt='""'))
    if g.chance(0.4):
        r = g.decide()
        d.fmt(
            "ENV AWS_ACCESS_KEY_ID=«a» \\\n    AWS_SECRET_ACCESS_KEY=«s»\n", a=g.akid(force=r), s=g.aws_secret(force=r)
        )
    d.add(
        'COPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . /app\nWORKDIR /app\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]\n'
    )
    return name


def t_wp_config(g: G, d: Doc):
    name = g.choice(["wp-config.php", "public/wp-config.php"])
    d.fmt(
        "<?php\ndefine( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', '«u»' );\ndefine( 'DB_PASSWORD', '«pw»' );\ndefine( 'DB_HOST', '«h»' );\n\ndefine( 'AUTH_KEY',         '«k1»' );\ndefine( 'SECURE_AUTH_KEY',  '«k2»' );\ndefine( 'NONCE_SALT',       'put your unique phrase here' );\n$table_prefix = 'wp_';\ndefine( 'WP_DEBUG', false );\n",
        u=g.username(),
        pw=g.password("code_password", safe="!#%*-_.+=?~^"),
        h=g.choice(["localhost", g.private_ip()]),
        k1=g.wp_salt(),
        k2=g.wp_salt(),
    )
    return name


def t_rails_db(g: G, d: Doc):
    name = g.choice(["config/database.yml", "api/config/database.yml"])
    d.fmt(
        """default: &default
  adapter: postgresql
  encoding: unicode
  pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>

development:
  <<: *default
  database: app_development
  password: <%= ENV['DB_PASSWORD'] %>

production:
  <<: *default
  database: app_production
  host: «h»
  username: «u»
  password: «pw»
""",
        h=g.ip(alt=g.private_ip),
        u=g.username(),
        pw=g.password("yaml_password", safe="-_.+=~^"),
    )
    return name


def t_gitlab_ci(g: G, d: Doc):
    name = ".gitlab-ci.yml"
    r = g.decide()
    d.fmt(
        """variables:
  DOCKER_DRIVER: overlay2
  GITLAB_API_TOKEN: «gl»
  AWS_ACCESS_KEY_ID: «a»
  AWS_SECRET_ACCESS_KEY: «s»
  HF_TOKEN: «hf»
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

stages: [test, deploy]

test:
  image: python:3.11
  script:
    - pip install -r requirements.txt
    - pytest -q

deploy:
  stage: deploy
  script:
    - echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin $CI_REGISTRY
    - aws s3 sync dist/ s3://«p»-releases/«sha»/
""",
        gl=g.gitlab(),
        hf=g.hf(alt="$HF_TOKEN_MASKED"),
        a=g.akid(force=r),
        s=g.aws_secret(force=r),
        p=g.proj(),
        sha=g.sha1(),
    )
    return name


def t_hf_script(g: G, d: Doc):
    name = g.choice(["scripts/push_model.py", "upload.py", "tools/sync_hub.py", "inference.py"])
    d.fmt(
        """import os

from huggingface_hub import HfApi, snapshot_download

# TODO: move to env
HF_TOKEN = «t»
REPO_ID = "«org»/«p»"
REVISION = "«sha»"  # pinned commit

api = HfApi(token=HF_TOKEN)
""",
        t=q(g.hf(alt='os.environ["HF_TOKEN"]')),
        org=g.choice(["acme-ml", "northpeak", "bigcode"]),
        p=g.proj(),
        sha=g.sha1(),
    )
    if g.chance(0.5):
        d.fmt('local = snapshot_download(REPO_ID, revision=REVISION, token="«t»")\n', t=g.hf())
    else:
        d.add('local = snapshot_download(REPO_ID, revision=REVISION, token=os.environ.get("HF_TOKEN"))\n')
    if g.chance(0.35):
        d.fmt('ANTHROPIC_API_KEY = "«k»"\n', k=g.anthropic())
    d.add('print(api.whoami()["name"], local)\n')
    return name


def t_firebase(g: G, d: Doc):
    name = g.choice(["src/firebase.js", "web/src/firebaseConfig.ts", "public/js/init.js"])
    p = g.proj()
    d.fmt(
        """import { initializeApp } from "firebase/app";

const firebaseConfig = {
  apiKey: "«k»",
  authDomain: "«p».firebaseapp.com",
  projectId: "«p»",
  storageBucket: "«p».appspot.com",
  messagingSenderId: "«sid»",
  appId: "1:«sid»:web:«app»",
  measurementId: "G-«mid»"
};

export const app = initializeApp(firebaseConfig);
const SPINNER = "«uri»";
""",
        k=g.google(),
        p=p + "-" + g.rs("abcdef0123456789", 5),
        sid=g.r.randrange(10**11, 10**12),
        app=g.rs(HEX, 22),
        mid=g.rs(UPPER_ALNUM, 10),
        uri=g.data_uri(),
    )
    return name


def t_twilio(g: G, d: Doc):
    name = g.choice(["notifications/sms.py", "app/messaging.py", "workers/mailer.py"])
    d.fmt(
        """from twilio.rest import Client
from sendgrid import SendGridAPIClient

TWILIO_AUTH_TOKEN = "«tt»"
TWILIO_API_KEY = "«tk»"
SENDGRID_API_KEY = "«sg»"
MAILGUN_API_KEY = "«mg»"
FROM_EMAIL = "«e»"
SUPPORT_PHONE = "+1-555-0100"
""",
        tt=g.twilio_token(),
        tk=g.twilio_api_key(),
        sg=g.sendgrid(),
        mg=g.mailgun(),
        e=g.email(alt="alerts@example.com"),
    )
    return name


def t_sql_dump(g: G, d: Doc):
    name = g.choice(["db/seeds.sql", "fixtures/users.sql", "backup/users_2024-01.sql"])
    d.add(
        "-- PostgreSQL database dump\nSET client_encoding = 'UTF8';\n\nINSERT INTO users (id, email, full_name, last_login_ip, api_client_id) VALUES\n"
    )
    n = g.r.randrange(3, 6)
    for i in range(n):
        f, lname, full = g.person()
        d.fmt(
            "  ('«uu»', '«e»', '«full»', '«ip»', '«cid»')«c»\n",
            uu=g.uuid(),
            e=g.email(f, lname),
            full=full.replace("'", "''"),
            ip=g.ip() if g.chance(0.4) else g.decoy_ip(),
            cid=g.md5(),
            c="," if i < n - 1 else ";",
        )
    return name


def t_json_fixture(g: G, d: Doc):
    name = g.choice(
        ["tests/fixtures/oauth_token.json", "fixtures/login_response.json", "test/data/auth.json", "mocks/session.json"]
    )
    d.add('{\n  "access_token": ')
    d.jstr(g.jwt())
    d.add(',\n  "token_type": "Bearer",\n  "expires_in": 3600,\n  "refresh_token": ')
    d.jstr(g.generic_key("refresh_token"))
    if g.chance(0.6):
        d.add(',\n  "id_token": ')
        d.jstr(g.jwt())
    d.add(',\n  "user": {\n    "id": ')
    d.jstr(g.uuid())
    d.add(',\n    "email": ')
    d.jstr(g.email())
    d.add(',\n    "avatar": ')
    d.jstr(g.data_uri())
    d.add("\n  }\n}\n")
    return name


def t_postman(g: G, d: Doc):
    name = g.choice(["postman/collection.json", "docs/api.postman_collection.json"])
    d.fmt(
        '{\n  "info": {\n    "_postman_id": "«uu»",\n    "name": "«p» API",\n    "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"\n  },\n  "item": [\n    {\n      "name": "Get profile",\n      "request": {\n        "method": "GET",\n        "header": [\n          { "key": "Authorization", "value": "Bearer «j»" },\n          { "key": "x-api-key", "value": "«k»" }\n        ],\n        "url": "https://api.«dom»/v1/profile"\n      }\n    }\n  ],\n  "variable": [ { "key": "baseUrl", "value": "https://api.«dom»" }, { "key": "token", "value": "{{token}}" } ]\n}\n',
        uu=g.uuid(),
        p=g.proj(),
        j=g.jwt(alt="{{token}}"),
        k=g.generic_key("generic_api_key"),
        dom=g.choice(ORG_DOMAINS),
    )
    return name


def t_requirements(g: G, d: Doc):
    name = g.choice(["requirements.txt", "requirements/prod.txt"])
    if g.chance(0.5):
        d.fmt(
            "--extra-index-url https://«u»:«pw»@pypi.«dom»/simple\n",
            u=g.username(),
            pw=g.url_password("url_password"),
            dom=g.choice(ORG_DOMAINS),
        )
    for pk in g.r.sample(["requests", "pyyaml", "numpy", "boto3", "fastapi", "uvicorn", "pydantic"], 4):
        d.fmt(
            "«pk»==«v» \\\n    --hash=sha256:«a» \\\n    --hash=sha256:«b»\n",
            pk=pk,
            v=g.version(),
            a=g.sha256(),
            b=g.sha256(),
        )
    return name


def t_ssh(g: G, d: Doc):
    if g.chance(0.5):
        name = g.choice([".ssh/known_hosts", "ci/known_hosts"])
        for _ in range(g.r.randrange(2, 5)):
            d.fmt("«ip» «pk»\n", ip=g.ip() if g.chance(0.7) else g.decoy_ip(), pk=g.ssh_pub())
        d.fmt("github.com «pk»\n", pk=g.ssh_pub())
    else:
        name = g.choice([".ssh/config", "home/ops/.ssh/config"])
        d.fmt(
            "Host bastion\n    HostName «ip»\n    User «u»\n    IdentityFile ~/.ssh/id_ed25519\n\nHost db-*\n    ProxyJump bastion\n    HostName «pip»\n\nHost legacy\n    HostName «ip2»\n    Port 2222\n",
            ip=g.ip(),
            u=g.choice(["ubuntu", "ops"]),
            pip=g.private_ip(),
            ip2=g.ip6() if g.chance(0.4) else g.ip(),
        )
    return name


def t_alertmanager(g: G, d: Doc):
    name = g.choice(["alertmanager/alertmanager.yml", "monitoring/alertmanager.yaml", "prometheus/prometheus.yml"])
    if name.endswith("prometheus.yml"):
        d.fmt(
            "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['«a»:9100', '«b»:9100', '«c»:9100']\n  - job_name: blackbox\n    basic_auth:\n      username: prom\n      password: «pw»\n",
            a=g.ip(),
            b=g.private_ip(),
            c=g.ip(),
            pw=g.password("yaml_password", safe="-_.+=~^"),
        )
    else:
        d.fmt(
            "global:\n  smtp_smarthost: 'smtp.«dom»:587'\n  smtp_from: '«e»'\n  smtp_auth_username: '«e2»'\n  smtp_auth_password: '«pw»'\n  slack_api_url: 'https://hooks.slack.com/services/«w»'\nroute:\n  receiver: oncall\nreceivers:\n  - name: oncall\n    email_configs:\n      - to: '«to»'\n",
            dom=g.choice(ORG_DOMAINS),
            e=g.email(),
            e2=g.email(),
            pw=g.password("yaml_password", safe="-_.+=~^!#%"),
            w=g.slack_webhook_path(),
            to=g.email(),
        )
    return name


def t_airflow(g: G, d: Doc):
    name = g.choice(["airflow.cfg", "airflow/airflow.cfg"])
    d.fmt(
        "[core]\ndags_folder = /opt/airflow/dags\nexecutor = CeleryExecutor\nfernet_key = «fk»\n\n[database]\nsql_alchemy_conn = postgresql+psycopg2://airflow:«pw»@«h»:5432/airflow\n\n[webserver]\nsecret_key = «sk»\nbase_url = http://localhost:8080\n\n[smtp]\nsmtp_mail_from = «e»\n",
        fk=g.fernet(),
        pw=g.url_password(),
        h=g.private_ip(),
        sk=g.generic_key("app_secret_key"),
        e=g.email(),
    )
    return name


def t_hf_train(g: G, d: Doc):
    name = g.choice(["train.py", "scripts/finetune.py", "sft/run_sft.py"])
    d.fmt(
        """from transformers import Trainer, TrainingArguments

args = TrainingArguments(
    output_dir="out/«p»",
    per_device_train_batch_size=8,
    learning_rate=2e-5,
    push_to_hub=True,
    hub_model_id="«org»/«p»-sft",
    hub_token=«t»,
    report_to="wandb",
)
WANDB_API_KEY = "«wk»"
DATASET_REVISION = "«sha»"
""",
        p=g.proj(),
        org=g.choice(["acme-ml", "northpeak"]),
        t=q(g.hf(alt="os.environ['HF_TOKEN']")),
        wk=g.generic_key("wandb_api_key", alt=""),
        sha=g.sha1(),
    )
    return name


def t_changelog(g: G, d: Doc):
    name = g.choice(["CHANGELOG.md", "docs/changes.rst", "HISTORY.md"])
    for _ in range(4):
        d.fmt(
            "## «v» (2024-0«m»-1«dd»)\n\n- Fix token refresh when `expires_in` is missing ([«sha»](https://github.com/«org»/«p»/commit/«sha»))\n- Bump `cryptography` to «v2»\n- Thanks to «de» for the report\n\n",
            v=g.version(4) if g.chance(0.3) else g.version(),
            m=g.r.randrange(1, 10),
            dd=g.r.randrange(10),
            sha=g.sha1(),
            org=g.choice(["acme", "northpeak"]),
            p=g.proj(),
            v2=g.version(),
            de=g.decoy_email(),
        )
    return name


def t_openapi(g: G, d: Doc):
    name = g.choice(["openapi.yaml", "docs/openapi.yml", "api/spec.yaml"])
    d.fmt(
        """openapi: 3.0.3
info:
  title: «p» API
  version: «v»
  contact:
    email: «de»
servers:
  - url: https://{host}/v1
    variables:
      host:
        default: api.example.com
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
  schemas:
    User:
      type: object
      properties:
        id: {type: string, format: uuid, example: «uu»}
        email: {type: string, format: email, example: «de2»}
        ip: {type: string, format: ipv4, example: «dip»}
        token: {type: string, example: "<token>"}
""",
        p=g.proj(),
        v=g.version(),
        de=g.decoy_email(),
        uu=g.uuid(),
        de2=g.decoy_email(),
        dip=g.decoy_ip(),
    )
    return name


def t_azure(g: G, d: Doc):
    name = g.choice(["appsettings.json", "src/Api/appsettings.Production.json", "local.settings.json"])
    acct = g.proj().replace("-", "") + "store"
    d.add('{\n  "Logging": { "LogLevel": { "Default": "Information" } },\n  "ConnectionStrings": {\n    "Storage": ')
    d.jstr(
        "DefaultEndpointsProtocol=https;AccountName=",
        acct,
        ";AccountKey=",
        g.azure_storage_key(),
        ";EndpointSuffix=core.windows.net",
    )
    d.add(',\n    "Sql": ')
    d.jstr(
        "Server=tcp:",
        g.proj(),
        ".database.windows.net,1433;Database=app;User ID=",
        g.username(),
        ";Password=",
        g.password("connection_string_password", safe="!#%*-_.+=?~^"),
        ";Encrypt=True;",
    )
    d.fmt(
        ',\n    "Redis": "localhost:6379"\n  },\n  "ApplicationInsights": { "ConnectionString": "InstrumentationKey=«ik»" },\n  "AllowedHosts": "*"\n}\n',
        ik=g.uuid(),
    )
    return name


def t_cloud_init(g: G, d: Doc):
    name = g.choice(["cloud-init/user-data.yaml", "provision/cloud-config.yml"])
    f, lname, full = g.person()
    d.fmt(
        "#cloud-config\nusers:\n  - name: «u»\n    gecos: «full»\n    ssh_authorized_keys:\n      - «pk» «e»\n    passwd: «pw»\nwrite_files:\n  - path: /etc/app/env\n    content: |\n      API_TOKEN=«t»\n      METADATA_URL=http://169.254.169.254/latest/meta-data/\nntp:\n  servers: [«dns»]\n",
        u=f.replace("-", ""),
        full=full,
        pk=g.ssh_pub(),
        e=g.email(f, lname),
        pw=g.password("yaml_password", safe="-_.+=~^"),
        t=g.generic_key("generic_api_key"),
        dns=g.choice(DNS_RESOLVERS[:4]),
    )
    return name


def t_rest_http(g: G, d: Doc):
    name = g.choice(["requests.http", "api/examples.http", "docs/rest-client/orders.http"])
    dom = g.choice(ORG_DOMAINS)
    d.fmt(
        """@baseUrl = https://api.«dom»/v2
@token = «j»

### list orders
GET {{baseUrl}}/orders?limit=20
Authorization: Bearer {{token}}
X-Correlation-Id: «uu»

### create order (service account)
POST {{baseUrl}}/orders
Authorization: Bearer «j2»
Content-Type: application/json

{"sku": "«sku»", "qty": 2, "notify": "«e»"}
""",
        dom=dom,
        j=g.jwt(alt="{{$dotenv API_TOKEN}}"),
        uu=g.uuid(),
        j2=g.jwt(alt="{{token}}"),
        sku=g.rs(UPPER_ALNUM, 8),
        e=g.email(),
    )
    return name


def t_api_client_yaml(g: G, d: Doc):
    p = g.proj()
    name = g.choice([f"config/{p}-client.yaml", "conf/upstreams.yml", "clients.yaml"])
    d.fmt(
        """upstreams:
  billing:
    base_url: https://billing.«dom»/api
    timeout_s: 5
    auth:
      type: bearer
      token: «j»
  search:
    base_url: http://«pip»:9200
    auth:
      type: none
  telemetry:
    base_url: https://ingest.«dom2»
    api_key: «k»
retry:
  attempts: 3
  backoff: exponential
schema_version: «v»
""",
        dom=g.choice(ORG_DOMAINS),
        j=g.jwt(alt="${BILLING_TOKEN}"),
        pip=g.private_ip(),
        dom2=g.choice(ORG_DOMAINS),
        k=g.generic_key("generic_api_key", alt="${TELEMETRY_API_KEY}"),
        v=g.version(),
    )
    return name


def t_api_client_py(g: G, d: Doc):
    name = g.choice(["client/api.py", "scripts/export_users.py", "sdk/session.py"])
    d.fmt(
        """import requests

BASE_URL = "https://api.«dom»/v1"
# long-lived service token issued 2024-02 (rotate!)
SERVICE_TOKEN = «j»
SESSION = requests.Session()
SESSION.headers.update({"Authorization": f"Bearer {SERVICE_TOKEN}", "User-Agent": "«p»/«v»"})


def export(since: str) -> list[dict]:
    r = SESSION.get(f"{BASE_URL}/users", params={"since": since, "trace": "«uu»"}, timeout=30)
    r.raise_for_status()
    return r.json()["items"]
""",
        dom=g.choice(ORG_DOMAINS),
        j=q(g.jwt(alt="os.environ.get('SERVICE_TOKEN', '')")),
        p=g.proj(),
        v=g.version(),
        uu=g.uuid(),
    )
    return name


def t_firewall(g: G, d: Doc):
    k = g.r.randrange(3)
    if k == 0:
        name = g.choice(["firewall/rules.v4", "etc/iptables/rules.v4"])
        d.add("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n")
        for _ in range(g.r.randrange(2, 5)):
            d.fmt("-A INPUT -s «ip»/32 -p tcp --dport 22 -j ACCEPT\n", ip=g.ip())
        d.fmt(
            "-A INPUT -s «pip»/16 -j ACCEPT\n-A INPUT -s «ip6»/128 -p tcp --dport 443 -j ACCEPT\nCOMMIT\n",
            pip=g.private_ip().rsplit(".", 2)[0] + ".0.0",
            ip6=g.ip6(alt="::1"),
        )
    elif k == 1:
        name = g.choice(["ops/fail2ban-banned.txt", "logs/fail2ban.log"])
        for _ in range(g.r.randrange(3, 6)):
            d.fmt(
                "2024-02-1«d» 0«h»:4«m»:11,«ms» fail2ban.actions [«pid»]: NOTICE [sshd] Ban «ip»\n",
                d=g.r.randrange(10),
                h=g.r.randrange(10),
                m=g.r.randrange(10),
                ms=g.r.randrange(100, 999),
                pid=g.r.randrange(300, 9000),
                ip=g.ip6() if g.chance(0.35) else (g.ip() if g.chance(0.85) else g.decoy_ip()),
            )
    else:
        name = g.choice(["ansible/files/ufw.sh", "scripts/firewall.sh"])
        d.add("#!/bin/sh\nufw default deny incoming\nufw allow from 127.0.0.1\n")
        for _ in range(g.r.randrange(2, 5)):
            d.fmt(
                "ufw allow from «ip» to any port «pt» proto tcp\n",
                ip=g.ip6() if g.chance(0.4) else g.ip(),
                pt=g.choice([22, 443, 5432, 6443]),
            )
        d.fmt("ufw allow from «pip»/24\nufw --force enable\n", pip=g.private_ip().rsplit(".", 1)[0] + ".0")
    return name


def t_db_client_conf(g: G, d: Doc):
    k = g.r.randrange(3)
    if k == 0:
        name = g.choice([".my.cnf", "home/dba/.my.cnf", "mysql/conf.d/client.cnf"])
        d.fmt(
            "[client]\nuser=«u»\npassword=«pw»\nhost=«h»\nport=3306\n\n[mysqldump]\nquick\nmax_allowed_packet=64M\n",
            u=g.username(),
            pw=g.password("ini_password", safe="!*-_.+=?~^"),
            h=g.ip(alt=g.private_ip),
        )
    elif k == 1:
        name = g.choice([".pgpass", "home/etl/.pgpass"])
        for _ in range(g.r.randrange(1, 4)):
            d.fmt(
                "«h»:5432:«db»:«u»:«pw»\n",
                h=g.choice([g.host(), g.ip(alt=g.private_ip)]),
                db=g.proj().replace("-", "_"),
                u=g.username(),
                pw=g.password("pgpass_password", safe="!*-_.+=?~^"),
            )
        d.add("localhost:5432:*:postgres:postgres\n")
    else:
        name = g.choice([".netrc", "home/ci/.netrc"])
        d.fmt(
            "machine api.«dom»\n  login «e»\n  password «pw»\nmachine «ip»\n  login deploy\n  password «pw2»\n",
            dom=g.choice(ORG_DOMAINS),
            e=g.email(),
            pw=g.password("netrc_password", safe="!*-_.+=?~^"),
            ip=g.ip(),
            pw2=g.password("netrc_password", safe="!*-_.+=?~^"),
        )
    return name


def t_hf_token_file(g: G, d: Doc):
    name = g.choice(
        ["home/user/.cache/huggingface/token", ".huggingface/token", "root/.cache/huggingface/stored_tokens"]
    )
    if name.endswith("stored_tokens"):
        d.fmt(
            "[«n1»]\nhf_token = «t1»\n\n[«n2»]\nhf_token = «t2»\n",
            n1=g.choice(["default", "work"]),
            t1=g.hf(force=True),
            n2=g.choice(["read-only", "ci-write"]),
            t2=g.hf(),
        )
    else:
        d.add(g.hf(force=True), "\n")
    return name


TEMPLATES = [  # (template, how many files, always clean)
    (t_dotenv, 6, False),
    (t_env_example, 3, True),
    (t_docker_compose, 6, False),
    (t_k8s_secret, 10, False),
    (t_k8s_configmap, 3, False),
    (t_gh_actions, 8, False),
    (t_ansible_vars, 7, False),
    (t_ansible_inventory, 3, False),
    (t_terraform, 4, False),
    (t_tfvars, 2, False),
    (t_aws_credentials, 6, False),
    (t_rails_storage, 5, False),
    (t_serverless, 4, False),
    (t_helm_values, 6, False),
    (t_django, 3, False),
    (t_flask, 2, False),
    (t_node_config, 3, False),
    (t_package_json, 3, False),
    (t_package_lock, 2, True),
    (t_npmrc, 1, False),
    (t_notebook, 9, False),
    (t_pytest_jwt, 6, False),
    (t_curl_script, 5, False),
    (t_readme, 5, False),
    (t_java_props, 3, False),
    (t_go, 3, False),
    (t_rust, 3, False),
    (t_cargo_lock, 2, True),
    (t_pem, 3, False),
    (t_cert, 2, True),
    (t_gcp_sa, 4, False),
    (t_access_log, 3, False),
    (t_app_log, 4, False),
    (t_auth_log, 2, False),
    (t_authors, 3, False),
    (t_codeowners, 2, False),
    (t_setup_cfg, 3, False),
    (t_pyproject, 2, False),
    (t_nginx_conf, 2, False),
    (t_slack_py, 3, False),
    (t_pypirc, 1, False),
    (t_git_credentials, 2, False),
    (t_dockerfile, 3, False),
    (t_wp_config, 1, False),
    (t_rails_db, 2, False),
    (t_gitlab_ci, 2, False),
    (t_hf_script, 7, False),
    (t_firebase, 1, False),
    (t_twilio, 1, False),
    (t_sql_dump, 1, False),
    (t_json_fixture, 5, False),
    (t_postman, 3, False),
    (t_requirements, 2, False),
    (t_ssh, 2, False),
    (t_alertmanager, 3, False),
    (t_airflow, 2, False),
    (t_hf_train, 4, False),
    (t_changelog, 2, True),
    (t_openapi, 2, True),
    (t_azure, 2, False),
    (t_cloud_init, 2, False),
    (t_firewall, 4, False),
    (t_db_client_conf, 6, False),
    (t_hf_token_file, 3, False),
    (t_rest_http, 3, False),
    (t_api_client_yaml, 3, False),
    (t_api_client_py, 3, False),
]
P_CLEAN = 0.07  # chance that a normally-PII template is rendered with placeholders only


def build(seed: int = SEED) -> list[dict]:
    g = G(seed)
    jobs = [(t, clean) for t, n, clean in TEMPLATES for _ in range(n)]
    g.r.shuffle(jobs)
    records, names = [], set()
    for tpl, always_clean in jobs:
        clean = always_clean or g.chance(P_CLEAN)
        g.start_file(clean)
        d = Doc()
        name = tpl(g, d)
        text = d.text
        while name in names:
            name = f"{g.choice(PROJ)}/{name}"
        names.add(name)
        labels = sorted(d.labels)
        assert not clean or not labels, (tpl.__name__, labels)
        # a labelled value must never also appear unlabelled (e.g. leaked through an f-string)
        covered = {(s, e) for s, e, *_ in labels}
        for lab in g.issued:
            for m in re.finditer(re.escape(str(lab)), text):
                assert (m.start(), m.end()) in covered or any(s <= m.start() and m.end() <= e for s, e in covered), (
                    tpl.__name__,
                    str(lab),
                )
        records.append({"name": name, "text": text, "labels": labels})
    return records


def check_jsonl(path: Path, max_labels: int | None = 6) -> list[dict]:
    """Self-check: every span inside its text, non-empty, trimmed, of a known KIND, and no two overlapping."""
    recs = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    names = set()
    for rec in recs:
        assert set(rec) == {"name", "text", "labels"}, rec.keys()
        assert rec["name"] not in names, rec["name"]
        names.add(rec["name"])
        text, labels = rec["text"], rec["labels"]
        assert isinstance(text, str) and text
        prev_end = -1
        for lab in sorted(labels):
            assert len(lab) == 4, lab
            s, e, kind, sk = lab
            assert isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text), (rec["name"], lab)
            assert kind in KINDS and isinstance(sk, str) and sk, (rec["name"], lab)
            v = text[s:e]
            assert v == v.strip() and v[0] not in "\"'`<" and v[-1] not in "\"'`>,;", (rec["name"], lab, v)
            assert s >= prev_end, ("overlap", rec["name"], lab)
            prev_end = e
        if max_labels is not None:
            assert len(labels) <= max_labels, (rec["name"], len(labels))
    return recs


def stats(recs: list[dict]) -> dict:
    kinds = collections.Counter(lname[2] for r in recs for lname in r["labels"])
    sks = collections.Counter(lname[3] for r in recs for lname in r["labels"])
    yaml_pairs = sum(
        1
        for r in recs
        if r["name"].endswith((".yml", ".yaml"))
        for lname in r["labels"]
        if lname[3] == "aws_secret_access_key" and any(m[3] == "aws_access_key_id" for m in r["labels"])
    )
    return {
        "files": len(recs),
        "files_without_labels": sum(1 for r in recs if not r["labels"]),
        "labels": sum(kinds.values()),
        "per_kind": dict(sorted(kinds.items())),
        "per_secret_kind": dict(sorted(sks.items())),
        "aws_secret_in_yaml_next_to_key_id": yaml_pairs,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", type=Path, nargs="*", help="only check these JSONL files (no generation)")
    args = ap.parse_args(argv)
    if args.check is not None:
        for p in args.check or [OUT]:
            recs = check_jsonl(p, max_labels=6 if p.name == OUT.name else None)
            print(p, json.dumps(stats(recs), indent=1))
        return
    recs = build()
    with open(args.out, "w", encoding="utf-8") as fh:
        for rec in recs:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    recs = check_jsonl(args.out)
    st = stats(recs)
    print(json.dumps(st, indent=1))
    assert all(st["per_kind"].get(k, 0) >= 60 for k in KINDS), st["per_kind"]
    for sk in ("jwt", "hf_token"):
        assert st["per_secret_kind"].get(sk, 0) >= 30, (sk, st["per_secret_kind"].get(sk))
    assert st["aws_secret_in_yaml_next_to_key_id"] >= 30, st["aws_secret_in_yaml_next_to_key_id"]
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])

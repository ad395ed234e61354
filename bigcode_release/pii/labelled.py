"""A labelled set of code files with planted secrets, personal data and their decoys, to
measure PII detection (`benchmarks/bench_pii.py`) and to test it.

Every value is generated from a seed; labels are character spans with a kind. Decoys are what
detectors classically mistake for PII: hashes on checksum lines, commit ids, UUIDs in fixtures,
version strings, example.com addresses, documentation, private and DNS-resolver IPs,
placeholders and environment references.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from dataclasses import dataclass, field

from bigcode_release.pii.findings import EMAIL, IP_ADDRESS, KEY, PASSWORD

ALNUM = string.ascii_letters + string.digits


@dataclass
class LabelledFile:
    name: str
    text: str = ""
    labels: list[tuple[int, int, str, str]] = field(default_factory=list)  # start, end, kind, secret kind

    def add(self, before: str, value: str = "", kind: str | None = None, secret_kind: str = "", after: str = "\n"):
        self.text += before
        if kind:
            self.labels.append((len(self.text), len(self.text) + len(value), kind, secret_kind))
        self.text += value + after


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _secret_makers(rng: random.Random) -> dict[str, callable]:
    def jwt() -> str:
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
        payload = base64.urlsafe_b64encode(
            json.dumps(
                {"sub": _chars(rng, string.digits, 10), "name": "user", "iat": rng.randint(10**9, 2 * 10**9)}
            ).encode()
        )
        signature = base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()
        return f"{header}.{payload.rstrip(b'=').decode()}.{signature}"

    return {
        "aws_access_key_id": lambda: "AKIA" + _chars(rng, string.ascii_uppercase + "234567", 16),
        "aws_secret_access_key": lambda: _chars(rng, ALNUM + "+/", 40),
        "github_token": lambda: "ghp_" + _chars(rng, ALNUM, 36),
        "gitlab_token": lambda: "glpat-" + _chars(rng, ALNUM + "_-", 20),
        "slack_token": lambda: (
            f"xoxb-{_chars(rng, string.digits, 12)}-{_chars(rng, string.digits, 13)}-" + _chars(rng, ALNUM, 24)
        ),
        "stripe_key": lambda: "sk_live_" + _chars(rng, ALNUM, 24),
        "sendgrid_key": lambda: "SG." + _chars(rng, ALNUM + "_-", 22) + "." + _chars(rng, ALNUM + "_-", 43),
        "google_api_key": lambda: "AIza" + _chars(rng, ALNUM + "_-", 35),
        "jwt": jwt,
        "twilio_key": lambda: "SK" + _chars(rng, "0123456789abcdef", 32),
        "npm_token": lambda: "npm_" + _chars(rng, ALNUM, 36),
        "azure_storage_key": lambda: base64.b64encode(rng.randbytes(64)).decode(),
        "hf_token": lambda: "hf_" + _chars(rng, string.ascii_letters, 34),
        "google_cloud_key": lambda: "AIza" + _chars(rng, ALNUM + "_-", 35),
        "openai_project_key": lambda: "sk-proj-" + _chars(rng, ALNUM + "_-", 74) + "T3BlbkFJ" + _chars(rng, ALNUM, 24),
    }


def _private_key(rng: random.Random) -> str:
    body = base64.b64encode(rng.randbytes(256)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


def _password(rng: random.Random) -> str:
    return (
        _chars(rng, string.ascii_letters, 5)
        + _chars(rng, string.digits, 3)
        + rng.choice("!@#%^&*")
        + _chars(rng, ALNUM, 4)
    )


def _public_ipv4(rng: random.Random) -> str:
    return f"{rng.choice([34, 52, 63, 81, 104, 151, 185])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"


def _public_ipv6(rng: random.Random) -> str:
    return f"2a0{rng.randint(1, 9)}:{rng.randint(0x1000, 0xFFFF):x}:{rng.randint(0x100, 0xFFF):x}::{rng.randint(1, 0xFFFF):x}"


def _email(rng: random.Random) -> str:
    first, last = (
        rng.choice(["jane", "omar", "li", "ana", "piotr", "kofi"]),
        rng.choice(["doe", "smith", "ng", "silva"]),
    )
    return (
        f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(['acme-corp.io', 'mailbox.org', 'univ-lyon.fr', 'gmail.com'])}"
    )


def labelled_files(count: int = 200, seed: int = 0) -> list[LabelledFile]:
    """`count` files, each with a few planted items and decoys, in Python, YAML, JS and .env styles."""
    rng = random.Random(seed)
    makers = _secret_makers(rng)
    files = []
    for index in range(count):
        f = LabelledFile(f"file_{index:04d}")
        style = index % 4
        f.add('"""Service configuration and helpers."""\nimport os\n\n')
        secret_kind = rng.choice(sorted(makers))
        value = makers[secret_kind]()
        if style == 1:
            f.add(f'{secret_kind}: "', value, KEY, secret_kind, '"\n')
        elif style == 2:
            f.add(f"const {secret_kind.upper()} = '", value, KEY, secret_kind, "';\n")
        else:
            f.add(f'{secret_kind.upper()} = "', value, KEY, secret_kind, '"\n')
        if index % 7 == 0:
            f.add("PRIVATE_KEY = '''", _private_key(rng), KEY, "private_key", "'''\n")
        password = _password(rng)
        if style == 1:
            f.add("  password: ", password, PASSWORD, "config_password")
        elif style == 3:
            f.add("DB_PASSWORD=", password, PASSWORD, "env_password")
        else:
            f.add('db_password = "', password, PASSWORD, "password_assignment", '"\n')
        if index % 3 == 0:
            f.add(
                'DATABASE_URL = "postgresql://app:',
                _password(rng).replace("@", "x"),
                PASSWORD,
                "url_password",
                '@db.internal:5432/app"\n',
            )
        _config_secrets(f, rng, index)
        f.add("# maintainer: ", _email(rng), EMAIL, "email")
        f.add('UPSTREAM = "', _public_ipv4(rng), IP_ADDRESS, "ipv4", '"  # production server\n')
        if index % 2 == 0:
            f.add('MIRROR_V6 = "', _public_ipv6(rng), IP_ADDRESS, "ipv6", '"\n')
        _decoys(f, rng)
        files.append(f)
    return files


def _config_secrets(f: LabelledFile, rng: random.Random, index: int) -> None:
    """A secret as configuration files hold it: next to its key id, under a secret-named key,
    in a header, a connection string or a credentials file."""
    aws_id = "AKIA" + _chars(rng, string.ascii_uppercase + "234567", 16)
    aws_secret = _chars(rng, ALNUM + "+/", 40)
    style = index % 10
    if style == 0:
        f.add("aws:\n  aws_access_key_id: ", aws_id, KEY, "aws_access_key_id")
        f.add("  aws_secret_access_key: ", aws_secret, KEY, "aws_secret_access_key")
    elif style == 1:
        f.add("[default]\naws_access_key_id = ", aws_id, KEY, "aws_access_key_id")
        f.add("aws_secret_access_key = ", aws_secret, KEY, "aws_secret_access_key")
        session = base64.b64encode(rng.randbytes(120)).decode()
        f.add("aws_session_token = ", session, KEY, "aws_session_token")
    elif style == 2:
        f.add("AWS_ACCESS_KEY_ID=", aws_id, KEY, "aws_access_key_id")
        f.add("AWS_SECRET_ACCESS_KEY=", aws_secret, KEY, "aws_secret_access_key")
        f.add("HF_TOKEN=", "hf_" + _chars(rng, string.ascii_letters, 34), KEY, "hf_token")
        f.add("DB_PASS=", _password(rng), PASSWORD, "env_password")
        f.add("[smtp]\npass = ", _password(rng), PASSWORD, "ini_password", "   ; relay account\n")
        f.add("export PGPASSWORD=", _password(rng), PASSWORD, "env_password")
        f.add("define( 'DB_PASSWORD', '", _password(rng).replace("'", "x"), PASSWORD, "php_password", "' );\n")
        f.add(
            "<datasource><password>",
            _password(rng).replace("&", "x"),
            PASSWORD,
            "xml_password",
            "</password></datasource>\n",
        )
        f.add("mysql -u root -p", _password(rng).replace("'", "x"), PASSWORD, "mysql_cli_password", " app < dump.sql\n")
    elif style == 3:
        token = "hf_" + _chars(rng, string.ascii_letters, 34)
        f.add('from huggingface_hub import login\nlogin(token="', token, KEY, "hf_token", '")\n')
    elif style == 4:
        header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=").decode()
        claims = json.dumps({"sub": str(rng.randint(10**5, 10**6)), "exp": rng.randint(1_700_000_000, 1_800_000_000)})
        payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=").decode()
        signature = base64.urlsafe_b64encode(rng.randbytes(256)).rstrip(b"=").decode()
        f.add(
            "curl -H 'Authorization: Bearer ",
            f"{header}.{payload}.{signature}",
            KEY,
            "jwt",
            "' https://api.acme-corp.io/v1/me\n",
        )
    elif style == 5:
        symbols = string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)"
        f.add("SECRET_KEY = '", "django-insecure-" + _chars(rng, symbols, 50), KEY, "django_secret_key", "'\n")
    elif style == 6:
        f.add(
            "oauth:\n  client_id: web-frontend\n  client_secret: ", _chars(rng, ALNUM + "_-", 40), KEY, "client_secret"
        )
        f.add("FERNET_KEY = b'", base64.urlsafe_b64encode(rng.randbytes(32)).decode(), KEY, "fernet_key", "'\n")
    elif style == 7:
        f.add('TWILIO_AUTH_TOKEN = "', rng.randbytes(16).hex(), KEY, "twilio_auth_token", '"\n')
        f.add('"mailgun_api_key": "', "key-" + rng.randbytes(16).hex(), KEY, "mailgun_key", '",\n')
    elif style == 8:
        f.add(
            'REDIS_URL = "redis://:',
            _password(rng).replace("@", "x"),
            PASSWORD,
            "redis_url_password",
            '@cache.internal:6379/0"\n',
        )
        f.add(
            '"Server=tcp:db.acme-corp.io,1433;Database=app;User Id=app;Password=',
            _password(rng).replace(";", "x"),
            PASSWORD,
            "connection_string_password",
            ';Encrypt=True;"\n',
        )
    else:
        f.add("machine api.acme-corp.io\n  login deploy\n  password ", _password(rng), PASSWORD, "netrc_password")
        f.add("db.internal:5432:app:app_user:", _password(rng).replace(":", "x"), PASSWORD, "pgpass_password")
        f.add(
            "curl -u deploy:",
            _password(rng).replace("@", "x"),
            PASSWORD,
            "basic_auth_password",
            " https://ci.acme-corp.io/api\n",
        )


def _decoys(f: LabelledFile, rng: random.Random) -> None:
    """Values that look like PII and are not."""
    blob = rng.randbytes(32)
    f.add(f'SHA256_CHECKSUM = "{hashlib.sha256(blob).hexdigest()}"  # sha256 of the release tarball')
    f.add(f'md5_hash = "{hashlib.md5(blob).hexdigest()}"')
    f.add(f'PINNED_COMMIT = "{hashlib.sha1(blob).hexdigest()}"  # git commit of the vendored copy')
    f.add(f'FIXTURE_ID = "{uuid.UUID(bytes=rng.randbytes(16), version=4)}"  # test fixture uuid')
    f.add(f'__version__ = "{rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"')
    f.add(f'CONTACT = "user{rng.randint(1, 9)}@example.com"  # documentation address')
    f.add(f'DOC_IP = "192.0.2.{rng.randint(1, 254)}"; DOC_IP6 = "2001:db8::{rng.randint(1, 999)}"')
    f.add(
        f'LAN = "10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"; HOME = "192.168.1.{rng.randint(2, 254)}"'
    )
    f.add('DNS_SERVERS = ["8.8.8.8", "1.1.1.1"]')
    f.add('API_KEY = os.environ["API_KEY"]\nSECRET = "your-api-key-here"\npassword = "changeme"')
    f.add('token = "${GITHUB_TOKEN}"\npassword = get_password()\nDEFAULT_TIMEOUT_SECONDS_FOR_REQUESTS = 30')
    f.add("def test_parse_configuration_with_defaults_and_overrides():\n    assert parse(config_with_overrides) == 1")
    f.add(
        'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\nhf_token = os.getenv("HF_TOKEN")\ntoken: ${{ secrets.HF_TOKEN }}'
    )
    f.add(f'cache_key = "{hashlib.sha256(blob).hexdigest()}"\nsort_key: created_at\nmax_tokens = 4096')
    f.add('path = hf_hub_download(repo_id="bigcode/starcoder2-3b", filename="config.json")')
    f.add("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    f.add('private_key_path = "/etc/ssl/private/server.key"\ntoken_url = "https://oauth2.googleapis.com/token"')
    f.add("mysql -u root -p app < dump.sql\n  - POSTGRES_PASSWORD=${POSTGRES_PASSWORD}\nexport PGPASSWORD=$DB_PASSWORD")
    f.add(
        "api_key: <YOUR_API_KEY>\nclient_secret: xxxxxxxxxxxxxxxxxxxxxxxx\nHF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    )

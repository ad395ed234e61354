"""PII: planted secrets of many kinds are found, their decoys are not, and the CLI reports spans."""

import json

import pytest
from conftest import run_cli

from bigcode_release.pii import PLACEHOLDERS, redact, scan_text
from bigcode_release.pii.labelled import labelled_files
from bigcode_release.pii.secrets import looks_random


@pytest.fixture(scope="module")
def labelled():
    return labelled_files(40, seed=3)


def test_every_planted_item_is_found_with_its_kind(labelled):
    planted_kinds = set()
    for labelled_file in labelled:
        found = scan_text(labelled_file.text)
        for start, end, kind, secret_kind in labelled_file.labels:
            planted_kinds.add(secret_kind)
            assert any(f.kind == kind and f.start < end and f.end > start for f in found), (
                f"{secret_kind} missed in {labelled_file.name}: {labelled_file.text[start:end]!r}"
            )
    assert len(planted_kinds) >= 15


def test_decoys_are_left_alone(labelled):
    for labelled_file in labelled:
        for f in scan_text(labelled_file.text):
            assert any(
                f.kind == kind and f.start < end and f.end > start for start, end, kind, _ in labelled_file.labels
            ), f"false positive {f.kind} ({f.detector}): {labelled_file.text[f.start : f.end]!r}"


@pytest.mark.parametrize(
    "decoy",
    [
        'CHECKSUM = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # sha256',
        'commit = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"',
        'REQUEST_ID = "123e4567-e89b-12d3-a456-426614174000"',
        'version = "1.10.2.3"',
        "see https://example.com or write to someone@example.org",
        'NS = ["8.8.8.8", "9.9.9.9"]; DOC = "203.0.113.7"; V6DOC = "2001:db8::8a2e:370:7334"',
        "ssh remote: git@github.com:bigcode-project/starcoder.git",
        "icon = 'logo@2x.png'",
        "values = table[1::2] + std::vector<int>{}",
        'password = os.environ.get("DB_PASSWORD")',
        'PASSWORD = "<your-password>"',
        # seen in the embedded corpus before the rules that now skip them
        'CRL_REASON = ObjectIdentifier("2.5.29.21")',
        '_no_split_modules = ["Qwen2_5OmniToken2WavDiTModel", "Qwen2_5OmniToken2WavDecoderLayer"]',
        'processor = AutoProcessor.from_pretrained("tencent/HunyuanImage-2.1-Diffusers7b")',
        "MyDatabaseModel(db='postgres://user:pass@localhost:5432')",
        '"ssl_password": "ssl.key.password",',
        'hashes = [\n    "a1b2c3d4e5f60718293a4b5c6d7e8f90",\n]',
        "print(wn.synset_from_sense_key('driving%1:04:00::'))",
        "<!-- 4.4.10.2 naturalnumbers -->",
        "broker = 'amqp://guest:guest@localhost:5672//'",
        # seen in installed packages before the password and secret-name rules learnt to skip them
        "    lpDomain=None,\n    lpPassword=None,\n",
        "        password=cast(str, data),",
        "def _prepare_one(self, obj, first_pass=False, device_placement=None):",
        "    return a dynamic library identified by 'name'.",
        "    key_or_pass = r'(?:key|pwd|password|pass|token)'",
        "    password = r'([a-f0-9]{48}(?![a-f0-9]))'",
        '    "password": "unreserved",',
        '    AttributeOID.CHALLENGE_PASSWORD: "challengePassword",',
        "        self, private_key: ed25519.Ed25519PrivateKey, f_priv: _FragList",
        'PASSWORD_MIN_LENGTH = 12\npassword_hash = "$2b$12$KIXQJ8h1lYxO0cK9z3v1QeRk3mB0C2Fq1y2w3e4r5t6y7u8i9o0p"',
        "DB_PASSWORD_FILE=/run/secrets/db_pw\npasswd_file = /etc/app/passwd",
        "docker run -u 1000:1000 image && docker run --user 1001:1001 other",
    ],
)
def test_classic_false_positives_are_not_pii(decoy):
    assert scan_text(decoy) == []


def test_redaction_uses_placeholders_and_counts_each_kind():
    text = 'key = "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R"\nto = "jane.doe@corp-mail.io"\nhost = "52.14.201.77"\n'
    redacted, counts = redact(text, scan_text(text))
    assert redacted == f'key = "{PLACEHOLDERS["KEY"]}"\nto = "<EMAIL>"\nhost = "<IP_ADDRESS>"\n'
    assert counts == {"KEY": 1, "EMAIL": 1, "IP_ADDRESS": 1}


def test_randomness_check_separates_keys_from_identifiers():
    assert looks_random("wJalrXUtnFEMI7K7MDENGbPxRfiCYz")
    assert not looks_random("hipsolverDnDpotrfBatched")
    assert not looks_random("test_parse_configuration_with_defaults")


def test_pii_scan_cli_prints_spans_not_values(tmp_path):
    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    path = tmp_path / "settings.py"
    email = "ops.lead@acme-corp.io"
    text = f'STRIPE = "{secret}"\nADMIN = "{email}"\n'
    path.write_text(text, encoding="utf-8")
    result = run_cli("pii", "scan", str(path), "--json")
    assert secret not in result.stdout
    report = json.loads(result.stdout)
    assert [(f["kind"], f["start"], f["end"]) for f in report["findings"]] == [
        ("KEY", text.index(secret), text.index(secret) + len(secret)),
        ("EMAIL", text.index(email), text.index(email) + len(email)),
    ]
    assert path.read_text(encoding="utf-8").startswith(f'STRIPE = "{secret}"')
    missing = run_cli("pii", "scan", str(tmp_path / "missing.py"), check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_windows_line_endings_and_minified_lines():
    crlf = "db:\r\n  password: S3cr3t!x9\r\nhost.internal:5432:mydb:alice:S3cr3tPw\r\n"
    assert [crlf[f.start : f.end] for f in scan_text(crlf)] == ["S3cr3t!x9", "S3cr3tPw"]
    # a very long line is not searched for passwords (the patterns' backtracking grows with its length)
    assert scan_text("var pwd='Zx9!kq2Lm';" + "a" * 40_000) == []

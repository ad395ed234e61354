"""Passwords written into code, configuration, commands and documents.

A password is a value given to a password-like name (`password`, `passwd`, `pwd`, `passphrase`,
`pass` as a word of its own: `DB_PASS`, `ansible_ssh_pass`, not `bypass`), in the forms people write
it: assignments (quoted values may be passphrases with spaces), config lines, `name=value` pairs
in INI inventories, `docker run -e`, JDBC and ADO.NET connection strings, URLs (`redis://:pw@host`,
Oracle's `user/pw@host`), XML (elements, `<add key=... value=...>`, `<property name=...>`), PHP
`define()`, SQL (`IDENTIFIED BY '...'`, `PASSWORD '...'`), tuple assignments (`user, password =
"a", "b"`), login calls (`smtp.login(user, pw)`, `NetworkCredential`, `getConnection`), command
lines (`curl -u`, `mysql -p`, `sshpass -p`, `htpasswd -b`), `.netrc`, `.pgpass`, `redis.conf` and
Markdown (password `` `...` ``). Placeholders, templates, environment references, paths and prose
are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bigcode_release.pii.findings import PASSWORD, Finding
from bigcode_release.pii.placeholders import is_placeholder

NAME = r"(?:password|passwd|pass_word|passphrase|pwd|(?<![a-z])pass(?![a-z]))"
# words of a name that holds something about passwords, not a password (`password_min_length`)
_NOT_A_PASSWORD_WORDS = frozenset(
    "file path encoder hash hasher hashers policy length len reset expiry expires expiration strength hint "
    "field label prompt regex pattern validator rule timeout digest type url min max minimum maximum required "
    "enabled command cmd".split()
)
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_REGEX_LIKE = re.compile(r"\\[dwsbDWS.]|\(\?|\[\^|\]\{|\]\+|\]\*")
_WORD_OR_IDENTIFIER = re.compile(r"[a-z]+(?:[A-Z][a-z]+)*")
_STOPWORDS = frozenset(
    "the your enter please must is are a an to of for with not be here new old this that will should".split()
)

_ASSIGNMENT = re.compile(
    rf"""(?ix)(?P<name>[\w.-]*{NAME}[\w-]*)["']?\s*(?::=|=>|=|:)\s*[bru]?(?P<quote>["'])(?P<value>[^"'\n]{{6,128}})(?P=quote)"""
)
_CONFIG_LINE = re.compile(
    rf"(?im)^[ \t]*(?:export[ \t]+|set[ \t]+|-[ \t]+|ENV[ \t]+|ARG[ \t]+)?(?P<name>[\w.-]*{NAME}[\w.-]*)[ \t]*[:=][ \t]*"
    r"(?P<value>[^\s\"'#;,(){}\[\]][^\s\"';,(){}\[\]]{5,127})[ \t]*(?:[ \t][#;].*)?$"
)
_INLINE_PAIR = re.compile(
    rf"(?i)(?:^|(?<=[\s;&?`]))(?P<name>[\w.-]*{NAME}[\w.-]*)=(?P<value>[^\s\"'&;<>`(),\[\]{{}}]{{4,128}})(?=[\s;&`]|$)"
)
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:(?P<value>[^\s@/'\"]{4,128})@[\w.-]+")
_ORACLE_THIN = re.compile(r"(?i)jdbc:oracle:thin:[^/\s:@]+/(?P<value>[^@\s/]{4,128})@")
_CONNECTION_STRING = re.compile(r"(?i)(?:^|[;\"'\s])(?:password|pwd)\s*=\s*(?P<value>[^;'\"\s]{4,128})\s*(?=;)")
_NETRC = re.compile(r"(?im)^\s*(?:machine\s+\S+\s+)?(?:login\s+\S+\s+)?password\s+(?P<value>\S{4,128})\s*$")
# (not `docker run -u 1000:1000`: a uid:gid pair)
_CURL_USER = re.compile(r"""(?:^|\s)(?:-u|--user)[\s=]+['"]?[^\s:'"@]+:(?!\d+(?:\s|$))(?P<value>[^\s'"@]{4,128})""")
_DEFINE = re.compile(rf"""(?i)define\(\s*["'][\w.-]*{NAME}[\w.-]*["']\s*,\s*["'](?P<value>[^"'\n]{{4,128}})["']""")
_XML_ELEMENT = re.compile(rf"(?i)<(?P<name>[\w.:-]*{NAME}[\w.-]*)>(?P<value>[^<>\n]{{4,128}})</(?P=name)>")
_XML_KEY_VALUE = re.compile(
    rf"""(?i)\b(?:key|name)\s*=\s*["'](?P<name>[\w.:-]*{NAME}[\w.:-]*)["']\s+value\s*=\s*["'](?P<value>[^"'\n]{{4,128}})["']"""
)
_XML_NAMED = re.compile(
    rf"""(?i)\bname\s*=\s*["'](?P<name>[\w.:-]*{NAME}[\w.:-]*)["'][^<>]*>(?P<value>[^<>\n]{{4,128}})</"""
)
_SQL = re.compile(
    r"""(?i)\b(?:create|alter)\s+(?:user|role|login)\b[^\n]*?\b(?:identified\s+by|password)\s+'(?P<value>[^'\n]{4,128})'"""
)
_MYSQL = re.compile(
    r"""\bmysql(?:dump|admin)?\b[^\n]*?\s-p(?:'(?P<quoted>[^'\n]{4,128})'|"(?P<dquoted>[^"\n]{4,128})"|(?P<value>[^\s'"-][^\s'"]{3,127}))"""
)
_SSHPASS = re.compile(
    r"""\bsshpass\s+-p\s*(?:'(?P<quoted>[^'\n]{4,128})'|"(?P<dquoted>[^"\n]{4,128})"|(?P<value>[^\s'"]{4,128}))"""
)
_HTPASSWD = re.compile(
    r"""\bhtpasswd\s+-\w*b\w*\s+\S+\s+\S+\s+(?:'(?P<quoted>[^'\n]{4,128})'|"(?P<dquoted>[^"\n]{4,128})"|(?P<value>[^\s'"]{4,128}))"""
)
_REDIS_CONF = re.compile(r"(?im)^\s*(?:requirepass|masterauth)\s+(?P<value>\S{4,128})\s*$")
_LOGIN_CALL = re.compile(
    r"""(?i)(?:\.login|NetworkCredential|getConnection\([^,()]+,)\s*\(?\s*["'][^"'\n]*["']\s*,\s*["'](?P<value>[^"'\n]{4,128})["']"""
)
_MARKDOWN = re.compile(r"(?i)\bpassword\s+`(?P<value>[^`\s]{4,128})`")
_TUPLE = re.compile(
    r"""(?P<names>\b\w+(?:\s*,\s*\w+)+)\s*:?=\s*(?P<values>["'][^"'\n]*["'](?:\s*,\s*["'][^"'\n]*["'])+)"""
)
_QUOTED = re.compile(r"""["']([^"'\n]*)["']""")
PGPASS_LINE = re.compile(r"(?m)^[\w.*-]+:(?:\d{2,5}|\*):[\w*-]+:[\w*.-]+:(?P<value>[^\s:]{4,128})\r?$")
MAX_LINE = 4096
_PGPASS_HINT = re.compile(r":(?:\d{2,5}|\*):")

# (pattern, detector, what its line must hold, lowercased, for it to be tried)
PATTERNS = (
    (_ASSIGNMENT, "password_assignment", ""),
    (_CONFIG_LINE, "config_password", ""),
    (_INLINE_PAIR, "inline_password", "="),
    (_URL, "url_password", "://"),
    (_ORACLE_THIN, "oracle_url_password", "thin:"),
    (_CONNECTION_STRING, "connection_string_password", "="),
    (_NETRC, "netrc_password", "password"),
    (_CURL_USER, "cli_password", "-u"),
    (_DEFINE, "define_password", "define"),
    (_XML_ELEMENT, "xml_password", "</"),
    (_XML_KEY_VALUE, "xml_password", "value"),
    (_XML_NAMED, "xml_password", "name"),
    (_SQL, "sql_password", "'"),
    (_MYSQL, "mysql_cli_password", "mysql"),
    (_SSHPASS, "sshpass_password", "sshpass"),
    (_HTPASSWD, "htpasswd_password", "htpasswd"),
    (_REDIS_CONF, "redis_conf_password", ""),
    (_LOGIN_CALL, "login_call_password", "("),
    (_MARKDOWN, "markdown_password", "`"),
)
# markers of a line worth these patterns (searched in the lowercased bytes)
MARKERS = (
    b"pass",
    b"pwd",
    b"-u ",
    b"-u\t",
    b"--user",
    b"identified by",
    b"masterauth",
    b"login(",
    b"credential(",
    b"getconnection(",
    b"thin:",
)
MYSQL_FLAG = b" -p"


def _value_span(match: re.Match) -> tuple[int, int, str] | None:
    for group in ("quoted", "dquoted", "value"):
        if group in match.re.groupindex and match.group(group) is not None:
            return match.start(group), match.end(group), match.group(group)
    return None


def plausible(value: str, name: str | None = None, *, unquoted: bool = False, named: bool = False) -> bool:
    """Whether `value` reads as a password given to `name`: not a placeholder, template, reference,
    path, regular expression or sentence; an unquoted config value also needs a digit or a symbol,
    and a value given to a name (`"password": ...`) is not a lone lowercase or camelCase word (a
    keyword or an identifier: `"unreserved"`, `"challengePassword"`)."""
    if name is not None and _NOT_A_PASSWORD_WORDS & {word.lower() for word in _NAME_WORDS.findall(name)}:
        return False
    if is_placeholder(value) or value.startswith(("/", "./", "~/", "$", "%(")) or _REGEX_LIKE.search(value):
        return False
    if named and _WORD_OR_IDENTIFIER.fullmatch(value):
        return False
    if " " in value and (_STOPWORDS & set(value.lower().split()) or len(value.split()) > 6):
        return False
    return not unquoted or bool(re.search(r"[\d\W]", value))


def _tuple_passwords(line: str) -> Iterator[tuple[int, int, str]]:
    """`user, password = "a", "b"`: the value in the password name's position."""
    for match in _TUPLE.finditer(line):
        names = [n.strip() for n in match.group("names").split(",")]
        values = list(_QUOTED.finditer(line, match.start("values"), match.end("values")))
        if len(names) != len(values):
            continue
        for name, value in zip(names, values):
            if re.search(NAME, name, re.IGNORECASE) and plausible(value.group(1), name):
                yield value.start(1), value.end(1), value.group(1)


def _in_tuple(line: str, match: re.Match) -> bool:
    """The name is the last of several assigned together (`user, password = ...`), not a keyword."""
    return bool(_TUPLE_HEAD.match(line[: match.start("name")]))


_TUPLE_HEAD = re.compile(r"^\s*(?:const|var|let)?\s*(?:\w+\s*,\s*)+$")


def find_passwords(text: str, lines: Iterable[tuple[int, int]]) -> Iterator[Finding]:
    """Passwords on the given `(start, end)` lines of `text`, and in `.pgpass`-style lines anywhere."""
    for line_start, line_end in lines:
        line = text[line_start:line_end].removesuffix("\r")  # CRLF files: `$` must see the line's end
        if len(line) > MAX_LINE:
            continue  # minified or generated data: the patterns' backtracking grows with the line
        lowered = line.lower()
        for pattern, detector, needed in PATTERNS:
            if needed not in lowered:
                continue
            for match in pattern.finditer(line):
                span = _value_span(match)
                if span is None:
                    continue
                name = match.group("name") if "name" in pattern.groupindex else None
                if name is not None and pattern is _ASSIGNMENT and _in_tuple(line, match):
                    continue  # `user, password = "a", "b"`: the tuple rule places the value
                unquoted = pattern in (_CONFIG_LINE, _INLINE_PAIR)
                start, end, value = span
                if plausible(value, name, unquoted=unquoted, named=pattern is _ASSIGNMENT):
                    yield Finding(line_start + start, line_start + end, PASSWORD, detector)
        if "," in line:
            for start, end, _ in _tuple_passwords(line):
                yield Finding(line_start + start, line_start + end, PASSWORD, "tuple_password")
    if _PGPASS_HINT.search(text):
        for match in PGPASS_LINE.finditer(text):
            if plausible(match.group("value"), unquoted=True):
                yield Finding(match.start("value"), match.end("value"), PASSWORD, "pgpass_password")

#!/usr/bin/env python3
"""Synthetic dev set for PASSWORD detection -> pii_dev.jsonl (next to this script).
Standard library only, fixed seed, deterministic.  Regenerate: .venv/bin/python benchmarks/data/make_pii_dev.py
Line format: {"name": path, "text": text, "labels": [[start, end, "PASSWORD", secret_kind], ...]};
spans cover the password VALUE only.  Decoys (placeholders, env lookups, templating, hashes, prose,
`pass`, bypass/passport/compass) are never labelled.
Template mini-language: @{u} user, @{h} host, @{db}, @{pj} project, @{mod} module, @{Pj} TitleCase,
@{C a|b} choice, @{n} int, @{H} bcrypt hash, @{P ctx kind} bare password, @{Q kind} optionally quoted,
@{QC kind} "/' quoted, @{QS kind} '/none, @{DQ kind}, @{SQ kind}, @{URL scheme port [nouser]};
a line starting with '?' is kept with p=0.6; a line '<indent>@POOL [lo hi]' emits decoys from POOL.
"""

import json
import os
import random
import re
import string
from collections import Counter
from urllib.parse import quote

R = random.Random(20240611)
c = R.choice
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pii_dev.jsonl")
KIND = dict(
    env="env_var",
    cfg="config_file",
    code="source_code",
    conn="connection_string",
    cli="cli_argument",
    sql="sql",
    cred="credential_file",
    doc="documentation",
    iac="infra_as_code",
)
WORDS = (
    "winter summer autumn spring dragon monkey falcon tiger orange purple river silver rocket "
    "shadow coffee banana maple thunder harbor sunset galaxy pepper mustang phoenix cobalt"
).split()
PROJ = (
    "billing-api inventory-svc webshop auth-gateway reporting crm-backend ledger mailer analytics-etl payments".split()
)
USERS = "admin app_user deploy svc_billing root webapp etl_reader jenkins backup reporting".split()
HOSTS = "db.internal 10.0.3.17 mysql-primary.prod.local pg01.corp.example.com redis-master cache.example.net mq.internal".split()
DBS = "app shop ledger crm analytics orders users".split()
# symbols allowed in a value per quoting context (never that context's quote or a backslash)
SYM = {
    "q": "#;:@/%!&*-_+=.^~?",
    "sq": "#;:@/%!$&*-_+=.^~?",
    "xml": "#;:@/%!$*-_+=.^~?",
    "ini": "@/%!$&*-_+=.:^~",
    "bare": "@%!-_+=.^~",
    "url": "-._~",
}


def rnd(ctx):  # random 8-20 chars, >=1 digit and >=1 symbol
    while True:
        s = c(string.ascii_letters) + "".join(
            c(string.ascii_letters + string.digits + SYM[ctx]) for _ in range(R.randint(7, 19))
        )
        if any(ch.isdigit() for ch in s) and any(ch in SYM[ctx] for ch in s):
            return s


def human(ctx):  # Winter2024!, Dragon#88, F@lc0n2017 ...
    w, y = c(WORDS).capitalize(), str(c([R.randint(2015, 2025), R.randint(1, 99)]))
    s = c([x for x in "!#@$%&*." if x in SYM[ctx]] or [""])
    if R.random() < 0.3:
        w = w.replace("o", "0").replace("e", "3").replace("a", "@" if "@" in SYM[ctx] else "a")
    return c([w + y + s, w + s + y, w + y, s + w + y if ctx not in ("bare", "url") else w + y])


def short():  # 6-8 chars, starts with a letter, has a digit
    while True:
        s = c(string.ascii_lowercase) + "".join(
            c(string.ascii_lowercase + string.digits) for _ in range(R.randint(5, 7))
        )
        if any(ch.isdigit() for ch in s):
            return s


def pw(ctx):  # URL: 30% percent-encoded (labelled as it appears); passphrases with spaces only when quoted
    r = R.random()
    if ctx == "url" and r < 0.3:
        return quote(rnd("q"), safe="")
    if r < 0.45:
        return rnd(ctx)
    if r < 0.75:
        return human(ctx)
    if r < 0.9 or ctx not in ("q", "sq", "xml"):
        return short()
    return " ".join(R.sample(WORDS, R.randint(3, 4)))


def L(ctx, kind):  # label marker, resolved by build()
    return f"\x01{KIND[kind]}\x02{pw(ctx)}\x03"


def Q(kind, quotes=('"', "'", "")):  # the value inside "..." / '...' / unquoted
    return (q := c(quotes)) + L({'"': "q", "'": "sq", "": "bare"}[q], kind) + q


def H():
    return "$2b$12$" + "".join(c(string.ascii_letters + string.digits + "./") for _ in range(53))


def url(schemes, port, nouser=False):  # scheme://user:pass@host, or redis-style :pass@host
    cred = (":" if nouser else c(USERS) + ":") + L("url", "conn")
    return "{}://{}@{}:{}/{}".format(c(schemes.split("|")), cred, c(HOSTS), port, c(DBS))


def tok(m):
    k, a = m.group(1), (m.group(2) or "").split()
    simple = {
        "u": lambda: c(USERS),
        "h": lambda: c(HOSTS),
        "db": lambda: c(DBS),
        "pj": lambda: c(PROJ),
        "mod": lambda: c(PROJ).replace("-", "_"),
        "Pj": lambda: c(PROJ).title().replace("-", ""),
        "n": lambda: str(R.randint(2, 40)),
        "H": H,
        "C": lambda: c(m.group(2).split("|")),
        "P": lambda: L(a[0], a[-1]),
        "Q": lambda: Q(a[0]),
        "QC": lambda: Q(a[0], ('"', "'")),
        "QS": lambda: Q(a[0], ("'", "")),
        "DQ": lambda: Q(a[0], ('"',)),
        "SQ": lambda: Q(a[0], ("'",)),
        "URL": lambda: url(*a),
    }
    return simple[k]()


TOK = re.compile(r"@\{(\w+)(?: ([^}]*))?\}")
POOLS = {
    k: v.split("|")
    for k, v in dict(
        YAML="password: ${DB_PASSWORD}|password: \"{{ .Values.db.password }}\"|password: '********'|password: <password>|"
        "password: changeme|password: your_password_here|password_min_length: 12|# the password is injected from Vault"
        "|bypass_cache: true|passport_strategy: jwt|compass_endpoint: https://compass.internal/api|"
        'admin_password_hash: "@{H}"|password: ""|password_file: /run/secrets/db_password|existingSecret: db-creds',
        ENV="DB_PASSWORD=${DB_PASSWORD}|PASSWORD=changeme|ADMIN_PASSWORD=your_password_here|PASSWORD_MIN_LENGTH=12|"
        "# SMTP_PASSWORD=|MAIL_PASSWORD=|BYPASS_AUTH=false|PASSPORT_SESSION=true|DB_PASSWORD_FILE=/run/secrets/db_pw|"
        "REDIS_PASSWORD=<redis-password>|ADMIN_PASSWORD_HASH='@{H}'|ROOT_PASSWORD=********",
        PY='password = os.environ["DB_PASSWORD"]|db_pass = os.getenv("DB_PASS")|password = getpass.getpass("Password: ")'
        '|password = config.password|PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]|'
        'PASSWORD_MIN_LENGTH = 12|DSN = "host=%(host)s user=%(user)s password=%(password)s"|ADMIN_HASH = "@{H}"|'
        '# NOTE: never commit the real password here|password = "********"|password = "<password>"|'
        'BYPASS_CSRF = False|COMPASS_HEADING = 270|PASSWORD = "changeme"  # placeholder|pwd = "your_password_here"',
        JS="const dbPass = process.env.DB_PASS;|const hash = '@{H}';|// TODO: read the password from env|"
        "app.use(passport.initialize());|const PASSWORD_MIN_LENGTH = 12;|const masked = '********';|"
        "const password = config.password;|const bypassCache = req.query.bypass === '1';",
        SH="export PGPASSWORD=\"${PGPASSWORD:?set PGPASSWORD}\"|read -rsp 'Password: ' DB_PASS|"
        'mysql -u root -p "$DB"  # prompts for the password|sshpass -e ssh deploy@"$HOST" uptime|'
        'curl -u "$API_USER:$API_TOKEN" https://api.example.com/health|# password is stored in ~/.pgpass|'
        "DB_PASS=$(cat /run/secrets/db_password)|echo 'bypass proxy for internal hosts'",
        XML="<password>${db.password}</password>|<password>********</password>|<!-- the password is supplied at runtime -->"
        '|<add key="PasswordMinLength" value="12" />|<password>changeme</password>|'
        "<passwordEncoder>bcrypt</passwordEncoder>|<bypassProxy>true</bypassProxy>",
        INI="password = %(db_password)s|password = ${DB_PASSWORD}|; password is read from the environment|"
        "password_min_length = 12|# password = changeme|password =|passwd_file = /etc/app/passwd|bypass_proxy = yes",
        PROP="db.password=${DB_PASSWORD}|spring.datasource.password=${SPRING_DATASOURCE_PASSWORD:}|password.min.length=12"
        "|# password is encrypted at rest|security.password.encoder=bcrypt|mail.password=|admin.password=<password>",
        PHP="$db_pass = getenv('DB_PASSWORD');|$password = $_POST['password'] ?? '';|$hash = '@{H}';|"
        "// define('DB_PASSWORD', 'your_password_here');|if (!password_verify($password, $hash)) { exit; }|"
        "define('PASSWORD_MIN_LENGTH', 12);",
        SQL="-- password is rotated by the ops team|ALTER USER reporting PASSWORD EXPIRE;|"
        "CREATE USER readonly IDENTIFIED BY '<password>';|ALTER ROLE analytics WITH PASSWORD NULL;|"
        "SELECT id FROM users WHERE password_hash = crypt($1, password_hash);|UPDATE users SET password = '@{H}';",
        MD="Set `DB_PASSWORD` in your `.env` file before starting.|Never commit your password to git.|"
        "The default admin password must be changed on first login.|Replace `<password>` with your own value.|"
        "Passwords must be at least 12 characters long.|Use `getpass()` instead of hardcoding credentials.|"
        "SSO users can bypass the password form; passport numbers are never stored.",
        JSON='"password": "${DB_PASSWORD}",|"passwordMinLength": 12,|"password": "********",|'
        '"passwordHash": "@{H}",|"bypassCache": false,|"password": "{{ secrets.password }}",',
    ).items()
}

T = [  # (name, body) -- labelled templates
    (
        "@{pj}/docker-compose.yml",
        """services:
  @{C mysql|mariadb}:
    environment:
      - MYSQL_ROOT_PASSWORD=@{P bare env}
?      - MYSQL_PASSWORD=@{P bare env}
      - @ENV 2 3""",
    ),
    (
        "@{pj}/deploy/docker-compose.prod.yml",
        """services:
  postgres:
    environment:
      POSTGRES_PASSWORD: @{Q env}
      @YAML 1 2
?      PGADMIN_DEFAULT_PASSWORD: @{Q env}
      RABBITMQ_DEFAULT_PASS: @{Q env}""",
    ),
    (
        "k8s/@{pj}/secret.yaml",
        """apiVersion: v1
kind: Secret
stringData:
  DB_PASSWORD: @{Q iac}
?  REDIS_PASSWORD: @{Q iac}
  @YAML 2 3""",
    ),
    (
        "charts/@{pj}/values.yaml",
        """postgresql:
  auth:
    password: @{Q iac}
?    postgresPassword: @{Q iac}
    replicationPassword: "{{ .Values.global.replPassword }}"
@YAML 1 2""",
    ),
    (
        "ansible/group_vars/@{C all|webservers|dbservers}.yml",
        """ansible_become_pass: @{Q iac}
mysql_root_password: @{Q iac}
app_db_password: "{{ vault_app_db_password }}"
@YAML 1 2""",
    ),
    (
        "ansible/inventory/@{C production|staging}.ini",
        """[web]
web1 ansible_host=10.0.1.11 ansible_user=deploy ansible_ssh_pass=@{P bare iac}
web2 ansible_host=10.0.1.12 ansible_ssh_private_key_file=~/.ssh/deploy
[db:vars]
ansible_become_password=@{P bare iac}""",
    ),
    (
        "infra/@{pj}/main.tf",
        """resource "azurerm_mssql_server" "main" { administrator_login_password = @{DQ iac} }
resource "aws_db_instance" "db" { password = var.db_password }
variable "db_password" { sensitive = true }""",
    ),
    (
        "infra/env/@{C prod|staging|dev}.tfvars",
        """admin_password = @{DQ iac}
?db_password    = @{DQ iac}
password_min_length = 12
# db_password = "changeme\"""",
    ),
    (
        "@{pj}/config/app.ini",
        """[database]
password = @{P ini cfg}   ; rotated quarterly
@INI
[smtp]
passwd = @{P ini cfg}  # app password
@INI""",
    ),
    (
        "@{pj}/src/main/resources/application.properties",
        """db.username=@{u}
db.password=@{P ini cfg}
?mail.smtp.password : @{P ini cfg}
@PROP 2 3""",
    ),
    (
        "@{pj}/src/main/resources/application.yml",
        """spring:
  datasource:
    password: @{Q cfg}
  mail:
    password: ${MAIL_PASSWORD}
  rabbitmq:
    password: @{Q cfg}
  @YAML""",
    ),
    (
        "@{pj}/conf/context.xml",
        """<Context>
  <Resource name="jdbc/appDB" type="javax.sql.DataSource" username="@{u}" password="@{P xml cfg}"/>
  @XML
</Context>
<property name="hibernate.connection.password">@{P xml cfg}</property>""",
    ),
    (
        "src/@{Pj}.Web/Web.config",
        """<configuration><appSettings>
  <add key="@{C DbPassword|SmtpPassword|AdminPwd}" value="@{P xml cfg}" />
  @XML 1 1
</appSettings><connectionStrings>
  <add name="Default" connectionString="Server=@{h};User Id=@{u};Password=@{P bare conn};" />
</connectionStrings></configuration>""",
    ),
    (
        ".m2/settings.xml",
        """<settings><servers>
  <server><id>nexus-releases</id><username>@{u}</username><password>@{P xml cfg}</password></server>
  <server><id>docker-hub</id><password>${env.DOCKER_PASSWORD}</password></server>
  @XML
</servers></settings>""",
    ),
    (
        "wordpress/@{pj}/wp-config.php",
        """<?php
define( 'DB_PASSWORD', @{SQ code} );
define( 'AUTH_KEY', 'put your unique phrase here' );
@PHP""",
    ),
    (
        "@{pj}/config/database.php",
        """<?php
return [
    'mysql' => ['username' => env('DB_USERNAME', 'forge'), 'password' => env('DB_PASSWORD', '')],
    'legacy' => ['username' => '@{u}', 'password' => @{SQ code}],
];""",
    ),
    (
        "@{pj}/includes/db.php",
        """<?php
$db_pass = @{SQ code};
$conn = new mysqli('@{h}', '@{u}', $db_pass, '@{db}');
?$ftp_pwd = "@{P bare code}";
@PHP 1 2""",
    ),
    (
        "@{pj}/config/database.yml",
        """development:
  username: @{u}
  password: @{Q cfg}
production:
  password: <%= ENV["DATABASE_PASSWORD"] %>
  @YAML""",
    ),
    (
        "@{mod}/settings.py",
        """DATABASES = {"default": {
    "USER": "@{u}",
    "PASSWORD": @{DQ code},
}}
EMAIL_HOST_PASSWORD = @{QC code}
@PY 1 3""",
    ),
    (
        "@{mod}/db.py",
        """def get_conn():
    return psycopg2.connect(host="@{h}", user="@{u}", password=@{DQ code})
def legacy_conn():
    return pymysql.connect(host="@{h}", user="@{u}", passwd=@{QC code}, db="@{db}")
def close(conn):
    pass
@PY""",
    ),
    (
        "tests/integration/conftest_@{db}.py",
        """API_PASSWORD = @{QC code}
?SFTP_PASSPHRASE = @{SQ code}
?smtp.login("alerts@example.com", @{DQ code})
@PY 2 3""",
    ),
    (
        "@{pj}/knexfile.js",
        """module.exports = { replica: { user: 'ro', password: process.env.DB_PASS },
  connection: { host: '@{h}', user: '@{u}', password: @{SQ code}, database: '@{db}' },
};
const transport = nodemailer.createTransport({ auth: { user: 'mailer', pass: @{QC code} } });
@JS 1 3""",
    ),
    (
        "internal/config/@{db}.go",
        """const dbUser, dbPassword = "@{u}", @{DQ code}
var redisOpts = &redis.Options{Addr: "@{h}:6379", Password: @{DQ code}}
var fromEnv = os.Getenv("DB_PASSWORD") // password override""",
    ),
    (
        "src/main/java/com/example/@{db}/DbConfig.java",
        """public class DbConfig {
    private static final String DB_PASSWORD = @{DQ code};
    private static final int PASSWORD_MIN_LENGTH = 12;
    Connection open(String url) throws SQLException { return DriverManager.getConnection(url, "sa", @{DQ code}); }
}""",
    ),
    (
        "src/@{Pj}/Secrets.cs",
        """public static class Secrets {
    public const string AdminPwd = @{DQ code};
    private const string ConnStr = "Server=@{h};User ID=@{u};Pwd=@{P bare conn};";
    public static string FromEnv => Environment.GetEnvironmentVariable("DB_PASSWORD");
?    public static readonly NetworkCredential Smtp = new NetworkCredential("mailer", @{DQ code});
}""",
    ),
    (
        "@{pj}/conf/datasource.properties",
        """primary.url=jdbc:mysql://@{h}:3306/@{db}?user=@{u}&password=@{P url conn}&useSSL=true
?oracle.url=jdbc:oracle:thin:@{u}/@{P url conn}@@{h}:1521/ORCL
replica.url=jdbc:postgresql://@{h}:5432/@{db}?user=@{u}&password=${REPLICA_PASSWORD}
@PROP""",
    ),
    (
        "src/@{Pj}.Api/appsettings.json",
        """{
  "ConnectionStrings": { "Default": "Server=@{h};User Id=@{u};Password=@{P bare conn};TrustServerCertificate=True" },
  "PasswordPolicy": { "RequiredLength": 12 },
  @JSON 1 1
  "Smtp": { "Host": "smtp.example.com", "Password": @{DQ cfg} }
}""",
    ),
    (
        "@{pj}/.env.@{C local|production|staging}",
        """MONGO_URL=@{URL mongodb 27017}?authSource=admin
?REDIS_URL=@{URL redis 6379 nouser}
AMQP_URL=@{URL amqp 5672}
?DATABASE_URL=@{URL postgres|mysql 5432}
@ENV 1 3""",
    ),
    (
        "@{pj}/config/notifier.yml",
        """notifier:
  smtp_url: smtp://alerts%40example.com:@{P url conn}@smtp.example.com:587
?  ftp_mirror: ftp://@{u}:@{P url conn}@ftp.example.org/pub
  sentry_dsn: https://abc123@o0.ingest.sentry.io/42
  @YAML""",
    ),
    (
        "scripts/backup_@{db}.sh",
        """#!/usr/bin/env bash
export PGPASSWORD=@{QS cli}
pg_dump -h @{h} -U @{u} @{db} > /backups/@{db}.sql
mysqldump -u@{u} -p@{QS cli} @{db} | gzip > /backups/@{db}.sql.gz
@SH""",
    ),
    (
        "scripts/deploy_@{pj}.sh",
        """sshpass -p @{SQ cli} ssh -o StrictHostKeyChecking=no @{u}@@{h} 'systemctl restart app'
curl -fsS -u @{u}:@{P bare cli} https://nexus.example.com/repository/raw/app.tar.gz -o app.tar.gz
?mysql -uroot -p@{SQ cli} -e "FLUSH PRIVILEGES"
@SH 1 3""",
    ),
    (
        "docker/nginx-@{pj}/Dockerfile",
        """FROM nginx:1.25-alpine
RUN htpasswd -bc /etc/nginx/.htpasswd @{u} @{P bare cli}
?RUN htpasswd -b /etc/nginx/.htpasswd ops @{SQ cli}
ARG ADMIN_PASSWORD""",
    ),
    (
        "@{C home/ci/.netrc|.netrc|docker/ci/netrc}",
        """machine api.heroku.com
  login ops@example.com
  password @{P bare cred}
machine ftp.example.org login @{u} password @{P bare cred}
# machine artifacts.example.com login ci password <token>""",
    ),
    (
        "@{C home/postgres/.pgpass|.pgpass}",
        """# hostname:port:database:username:password
@{h}:5432:@{db}:@{u}:@{P bare cred}
?*:*:*:replicator:@{P bare cred}
localhost:5432:*:postgres:*""",
    ),
    (
        "@{C home/dev/.git-credentials|.git-credentials}",
        """https://@{u}:@{P url cred}@github.com
?https://ci-bot:@{P url cred}@gitlab.example.com""",
    ),
    (
        "@{pj}/Dockerfile",
        """FROM python:3.11-slim
ENV DB_HOST=@{h} \\
    DB_PASSWORD=@{P bare env}
?ENV ADMIN_PASSWORD @{P bare env}
ARG DB_PASSWORD
ENV SMTP_PASSWORD=${SMTP_PASSWORD}""",
    ),
    (
        "db/migrations/V@{n}__create_users.sql",
        """CREATE USER '@{u}'@'%' IDENTIFIED BY @{SQ sql};
ALTER ROLE @{u} WITH LOGIN PASSWORD @{SQ sql};
?CREATE LOGIN app_login WITH PASSWORD = @{SQ sql};
@SQL 1 3""",
    ),
    (
        "@{pj}/README.md",
        """# Local setup
1. Start the database: `docker run -e POSTGRES_PASSWORD=@{P bare doc} -p 5432:5432 postgres:15`
2. Log in to http://localhost:8080 as `admin` with password `@{P q doc}`.
?3. The staging FTP account is `@{u}` / `@{P bare doc}`.
@MD""",
    ),
    (
        "@{pj}/config/@{C default|production|local}.json",
        """{
  "database": { "host": "@{h}", "user": "@{u}", "password": @{DQ cfg} },
  @JSON 1 2
  "ftp": { "user": "@{u}", "pwd": @{DQ cfg} }
}""",
    ),
    (
        "@{pj}/.env",
        """@{C DB_PASS|DB_PASSWD|MYSQL_PWD|DbPassword|db_password}=@{Q env}
?KEYSTORE_PASSPHRASE=@{SQ env}
?SMTP_PASSWD=@{Q env}
@ENV 2 3""",
    ),
    (
        "@{C deploy/redis/redis.conf|etc/redis/redis.conf}",
        """requirepass @{P bare cfg}
?masterauth @{P bare cfg}
# requirepass foobared""",
    ),
    (
        "@{C home/backup/.my.cnf|etc/mysql/conf.d/client.cnf}",
        """[client]
password = @{Q cfg}
[mysqldump]
password=@{P ini cfg}
@INI""",
    ),
    (
        "deploy/pgbouncer/userlist.txt",
        """"@{u}" @{DQ cred}
"stats" "md5f4a1c0e9b2d37a65c8e1f09b7d2a4c61\"""",
    ),
]
D = [  # decoy-only files (nothing labelled)
    (
        "@{mod}/auth.py",
        """def check_password(user, password):
    return bcrypt.checkpw(password.encode(), user.password_hash)
def login(request):
    password = request.form["password"] or getpass.getpass()
    bypass = request.args.get("bypass_sso") == "1"
    if not password:
        pass
    @PY 2 3""",
    ),
    (
        "api/schemas/@{C user|login|account}.schema.json",
        """{"type": "object", "properties": {
  "password": {"type": "string", "format": "password", "minLength": 12},
  "passport_number": {"type": "string"}}, "required": ["username", "password"]}""",
    ),
    (
        "docs/@{C SECURITY|password-policy}.md",
        """# Password policy
- @MD 3 4
Example: run `mysql -u root -p` and enter `<password>` when prompted. Hashes look like `@{H}`.""",
    ),
    (
        "charts/@{pj}/templates/secret.yaml",
        """kind: Secret
data:
  password: {{ .Values.password | b64enc | quote }}
  redis-password: {{ required "redis password" .Values.redis.password | b64enc }}""",
    ),
]


def expand(body):
    out = []
    for line in body.split("\n"):
        if line.startswith("?") and R.random() < 0.4:
            continue  # optional line, kept with p=0.6
        line = line[1:] if line.startswith("?") else line
        m = re.fullmatch(r"(\s*(?:- )?)@([A-Z]+)(?: (\d) (\d))?", line)
        if m:
            lo, hi = int(m.group(3) or 1), int(m.group(4) or 2)
            out += [m.group(1) + x for x in R.sample(POOLS[m.group(2)], R.randint(lo, hi))]
        else:
            out.append(line)
    return TOK.sub(tok, "\n".join(out)) + "\n"


def build(name, raw):
    out, labels, i = "", [], 0
    while (a := raw.find("\x01", i)) >= 0:
        b, e = raw.index("\x02", a), raw.index("\x03", a)
        out += raw[i:a]
        labels.append([len(out), len(out) + e - b - 1, "PASSWORD", raw[a + 1 : b]])
        out += raw[b + 1 : e]
        i = e + 1
    return {"name": name, "text": out + raw[i:], "labels": labels}


def check(rec):
    t, prev = rec["text"], 0
    assert not re.search(r"[\x01-\x03]|@\{", t), rec["name"]
    for s, e, lab, kind in sorted(rec["labels"]):
        v = t[s:e]
        assert lab == "PASSWORD" and kind in KIND.values() and 0 <= prev <= s < e <= len(t), (rec["name"], s, e)
        assert v == v.strip() and v[0] not in "'\"`" and v[-1] not in "'\"`", (rec["name"], v)
        assert v.lower() not in ("changeme", "your_password_here", "********", "<password>", "foobared"), v
        prev = e


def main():
    seen, recs = set(), []
    for i in range(150):
        name, body = D[i // 12 % len(D)] if i % 12 == 11 else T[i % len(T)]
        name = TOK.sub(tok, name)
        while name in seen:
            name = c(["services", "apps", "legacy", "examples", "tools"]) + f"/{R.randint(2, 99)}/{name}"
        seen.add(name)
        recs.append(build(name, expand(body)))
        check(recs[-1])
    with open(OUT, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    kinds = Counter(label[3] for r in recs for label in r["labels"])
    decoy_only = sum(not r["labels"] for r in recs)
    print(
        f"wrote {OUT}: {len(recs)} files ({decoy_only} decoy-only), {sum(kinds.values())} labels, "
        f"{os.path.getsize(OUT)} bytes, {len(T)}+{len(D)} templates"
    )
    print("\n".join(f"  {kind:<18} {count}" for kind, count in kinds.most_common()))


if __name__ == "__main__":
    main()

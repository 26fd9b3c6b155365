#!/usr/bin/env bash
# Build a LOCAL STAND-IN for the official FileGator v7.15.1 image (filegator/filegator on Docker
# Hub, unreachable here) for lab mode and molecule. Same layout and behaviour as upstream's
# Dockerfile: app in /var/www/filegator, Apache serving dist/ on port 8080 as www-data, volumes for
# repository/ and private/, configuration.php copied from the sample, users.json left for FileGator
# to create. Built from the upstream source archives in third_party/filegator (checked against their
# SHA256SUMS), Debian bookworm's PHP 8.2 and PHP libraries, and npm for the frontend (in a builder
# stage, so the image has no node). It is never tagged with the official name.
# Built once: an image whose recipe label matches this script + SHA256SUMS is reused.
#   --save   also write `docker save` of the image to the cache dir (reused if present) and print
#            its absolute path as the last line of stdout. All other messages go to stderr.
# Environment: RESEARCH_ENV_FILEGATOR_IMAGE (the name), RESEARCH_ENV_IMAGE (the base, built by
# test-image.sh), RESEARCH_ENV_THIRD_PARTY (the dir holding filegator/), RESEARCH_ENV_CACHE.
set -euo pipefail
umask 022

save=false
for arg in "$@"; do
  case $arg in
    --save) save=true ;;
    *) echo "usage: $0 [--save]" >&2; exit 2 ;;
  esac
done

image=${RESEARCH_ENV_FILEGATOR_IMAGE:-research-env-filegator-lab:7.15.1}
base=${RESEARCH_ENV_IMAGE:-research-env-host:latest}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${RESEARCH_ENV_CACHE:-$HOME/.cache/research-env}/filegator
say() { echo "filegator-image: $*" >&2; }
tmp_paths=()
trap 'rm -rf ${tmp_paths[@]+"${tmp_paths[@]}"}' EXIT

case $image in
  filegator/filegator|filegator/filegator:*|docker.io/filegator/filegator*|*/filegator/filegator*)
    say "refusing to tag the stand-in as the official image ($image)"; exit 1 ;;
esac

# The sources: RESEARCH_ENV_THIRD_PARTY, else ../shared/third_party next to the checkout, else the
# machine-wide copy (a clone in /tmp has no ../shared).
if [ -n "${RESEARCH_ENV_THIRD_PARTY:-}" ]; then
  src=$RESEARCH_ENV_THIRD_PARTY/filegator
elif [ -d "$repo/../shared/third_party/filegator" ]; then
  src=$(cd "$repo/../shared/third_party/filegator" && pwd)
else
  src=/work/shared/third_party/filegator
fi
if [ ! -f "$src/SHA256SUMS" ]; then
  say "no FileGator sources at $src (expected SHA256SUMS and the archives;" \
    "set RESEARCH_ENV_THIRD_PARTY to the directory that holds filegator/)"
  exit 1
fi
app_archive=filegator-v7.15.1.tar.gz
# composer name -> archive, for the composer packages Debian bookworm lacks (see the README there).
vendored=(
  php-di/php-di=php-di-6.4.0.tar.gz
  php-di/invoker=invoker-2.3.4.tar.gz
  php-di/phpdoc-reader=phpdoc-reader-2.2.1.tar.gz
  rakit/validation=rakit-validation-v1.4.0.tar.gz
  league/flysystem-ziparchive=flysystem-ziparchive-1.0.3.tar.gz
  dibi/dibi=dibi-v4.2.8.tar.gz
  symfony/http-foundation=symfony-http-foundation-v4.4.49.tar.gz
)
for f in "$app_archive" "${vendored[@]#*=}"; do
  grep -q "  $f\$" "$src/SHA256SUMS" || { say "$f is not listed in $src/SHA256SUMS"; exit 1; }
done
if ! (cd "$src" && sha256sum -c --strict --quiet SHA256SUMS >&2); then
  say "checksum mismatch in $src (see above); not using these archives"
  exit 1
fi

recipe=$(cat "$here/filegator-image.sh" "$src/SHA256SUMS" | sha256sum | cut -c1-16)
tarball=$cache/$(printf '%s' "$image" | tr ':/' '--')-$recipe.tar
label() { docker image inspect --format '{{ index .Config.Labels "research-env.recipe" }}' "$image" 2>/dev/null || true; }

if [ "$(label)" = "$recipe" ]; then
  say "$image is up to date (recipe $recipe)"
elif [ -f "$tarball" ]; then
  # Same recipe saved earlier (e.g. a CI cache): loading is much faster than building.
  say "loading $image from $tarball"
  docker load -q -i "$tarball" >&2
  [ "$(label)" = "$recipe" ] || { say "$tarball does not hold $image with recipe $recipe"; exit 1; }
else
  "$here/test-image.sh" >&2
  say "building $image from $base (recipe $recipe)"
  ctx=$(mktemp -d /tmp/research-env-filegator.XXXXXX)
  tmp_paths+=("$ctx")
  started=$SECONDS

  # The application tree, assembled here so that no archive ends up in an image layer.
  mkdir -p "$ctx/app/vendor" "$ctx/ca"
  tar -xzf "$src/$app_archive" -C "$ctx/app" --strip-components=1 --no-same-owner --no-same-permissions
  for entry in "${vendored[@]}"; do
    mkdir -p "$ctx/app/vendor/${entry%%=*}"
    tar -xzf "$src/${entry#*=}" -C "$ctx/app/vendor/${entry%%=*}" --strip-components=1 \
      --no-same-owner --no-same-permissions
  done
  cp "$src/$app_archive" "$ctx/"   # for the frontend builder stage only
  (
    cd "$ctx/app"
    cp configuration_sample.php configuration.php
    # What upstream's Dockerfile removes from the final image (dist/js, dist/css, dist/main.html
    # come from the builder stage).
    rm -rf node_modules frontend tests docs .git .github
    rm -f README.md couscous.yml repository/.gitignore babel.config.js cypress* .env* .eslint* \
      .gitignore jest.* .php_cs* phpunit* postcss* vue*
  )
  # A TLS-intercepting proxy's CA certificates (this machine's extra ones), trusted by npm in the
  # builder stage only; none on a plain machine. The final image does not get them.
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] && cp "$crt" "$ctx/ca/"
  done

  # Composer's autoloader stand-in: Debian's autoload.php files for the packages Debian has, PSR-4
  # for the archives. Registered first, so the archives win over Debian copies (http-foundation 4.4).
  cat >"$ctx/app/vendor/autoload.php" <<'PHP'
<?php
// Hand-written stand-in for Composer's vendor/autoload.php (research-env scripts/filegator-image.sh):
// FileGator v7.15.1's composer.lock resolved against Debian bookworm's PHP packages plus the
// archives in vendor/<composer name>/ of the packages Debian lacks.

$psr4 = [
    'Filegator\\' => dirname(__DIR__).'/backend/',
    'Symfony\\Component\\HttpFoundation\\' => __DIR__.'/symfony/http-foundation/',
    'DI\\' => __DIR__.'/php-di/php-di/src/',
    'Invoker\\' => __DIR__.'/php-di/invoker/src/',
    'PhpDocReader\\' => __DIR__.'/php-di/phpdoc-reader/src/PhpDocReader/',
    'Rakit\\Validation\\' => __DIR__.'/rakit/validation/src/',
    'League\\Flysystem\\ZipArchive\\' => __DIR__.'/league/flysystem-ziparchive/src/',
    'Dibi\\' => __DIR__.'/dibi/dibi/src/Dibi/',
];

spl_autoload_register(function ($class) use ($psr4) {
    foreach ($psr4 as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
            if (is_file($file)) {
                require $file;

                return;
            }
        }
    }
    // dibi is a composer classmap: a few files hold several classes.
    if (strtolower($class) === 'dibi') {
        require_once __DIR__.'/dibi/dibi/src/Dibi/dibi.php';
    } elseif (strncasecmp($class, 'Dibi\\', 5) === 0) {
        require_once __DIR__.'/dibi/dibi/src/Dibi/interfaces.php';
        require_once __DIR__.'/dibi/dibi/src/Dibi/exceptions.php';
    }
}, true, true);

// composer "files" of the archives
require_once __DIR__.'/php-di/php-di/src/functions.php';

// Debian's packages (each autoload.php pulls in its own dependencies)
foreach ([
    'FastRoute',
    'Laravel/SerializableClosure',
    'League/Flysystem',
    'League/MimeTypeDetection',
    'Monolog',
    'Psr/Container',
    'Psr/EventDispatcher',
    'Psr/Log',
    'Symfony/Component/Mime',
    'Symfony/Component/Security/Core',
    'Symfony/Component/Security/Csrf',
    'Symfony/Contracts/Deprecation',
    'Symfony/Contracts/EventDispatcher',
    'Symfony/Contracts/Service',
] as $pkg) {
    require_once '/usr/share/php/'.$pkg.'/autoload.php';
}
PHP

  # Apache as non-root www-data in the foreground, like the php:apache image's apache2-foreground.
  cat >"$ctx/apache2-foreground" <<'SH'
#!/bin/sh
set -e
. /etc/apache2/envvars
# /run may be a fresh tmpfs that www-data cannot write: fall back to /tmp.
if ! mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" 2>/dev/null \
   || [ ! -w "$APACHE_RUN_DIR" ] || [ ! -w "$APACHE_LOCK_DIR" ]; then
  APACHE_RUN_DIR=/tmp/apache2-run APACHE_LOCK_DIR=/tmp/apache2-lock
  APACHE_PID_FILE=$APACHE_RUN_DIR/apache2.pid
  export APACHE_RUN_DIR APACHE_LOCK_DIR APACHE_PID_FILE
  mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"
fi
rm -f "$APACHE_PID_FILE"
exec apache2 -DFOREGROUND "$@"
SH
  chmod 0755 "$ctx/apache2-foreground"

  cat >"$ctx/filegator.conf" <<'CONF'
# FileGator: dist/ is the DocumentRoot (see sites-available/000-default.conf); as in upstream's image
ServerName localhost
<Directory /var/www/filegator/dist/>
    Options -Indexes
    AllowOverride All
    Require all granted
</Directory>
DirectoryIndex index.php index.html
CONF

  # Debian's PHP 8.2 packages: those the README lists, plus php-ldap and php-mysql for the ldap and
  # mysqli extensions upstream's image has (LDAP and database auth adapters).
  php_packages=(apache2 libapache2-mod-php8.2 php8.2-cli php-zip php-mbstring php-xml php-curl php-ldap
    php-mysql php-league-flysystem php-league-mime-type-detection php-monolog php-nikic-fast-route
    php-psr-container php-psr-log php-psr-event-dispatcher php-laravel-serializable-closure
    php-symfony-mime php-symfony-security-core php-symfony-security-csrf
    php-symfony-deprecation-contracts php-symfony-event-dispatcher-contracts
    php-symfony-service-contracts)

  cat >"$ctx/Dockerfile" <<DOCKERFILE
# Builder: the frontend (dist/js, dist/css, dist/main.html) with Debian's nodejs and npm.
FROM $base AS frontend
ENV DEBIAN_FRONTEND=noninteractive NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \\
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
COPY $app_archive /tmp/
WORKDIR /src
RUN tar -xzf /tmp/$app_archive --strip-components=1 --no-same-owner \\
 && CYPRESS_INSTALL_BINARY=0 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \\
 && NODE_OPTIONS=--openssl-legacy-provider npx vue-cli-service build --no-clean \\
 && test -f dist/main.html && test -f dist/js/app.js && test -f dist/css/app.css
LABEL research-env.filegator-builder=$recipe

# The image: Apache + mod_php in the foreground as www-data, no systemd.
FROM $base
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends ${php_packages[*]} >/dev/null \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* \\
 && sed -ri 's/^export ([^=]+)=(.*)\$/: \${\1:=\2}\nexport \1/' /etc/apache2/envvars \\
 && sed -ri 's/^Listen 80\$/Listen 8080/' /etc/apache2/ports.conf \\
 && sed -ri -e 's!<VirtualHost \*:80>!<VirtualHost *:8080>!' \\
      -e 's!DocumentRoot /var/www/html!DocumentRoot /var/www/filegator/dist/!' \\
      /etc/apache2/sites-available/000-default.conf \\
 && for d in /var/run/apache2 /var/lock/apache2 /var/log/apache2; do \\
      rm -rf "\$d" && mkdir -p "\$d" && chown www-data:www-data "\$d" && chmod 1777 "\$d"; done \\
 && ln -sfT /dev/stderr /var/log/apache2/error.log \\
 && ln -sfT /dev/stdout /var/log/apache2/access.log \\
 && ln -sfT /dev/stdout /var/log/apache2/other_vhosts_access.log \\
 && rm -rf /var/www/html && a2enmod -q rewrite
COPY filegator.conf /etc/apache2/conf-available/filegator.conf
COPY apache2-foreground /usr/local/bin/apache2-foreground
COPY app/ /var/www/filegator/
COPY --from=frontend /src/dist/js /var/www/filegator/dist/js
COPY --from=frontend /src/dist/css /var/www/filegator/dist/css
COPY --from=frontend /src/dist/main.html /var/www/filegator/dist/main.html
WORKDIR /var/www/filegator
RUN a2enconf -q filegator \\
 && chown -R www-data:www-data private repository && chmod -R g+w private repository \\
 && apache2ctl -t 2>&1 && php -r 'require "vendor/autoload.php"; new Symfony\Component\HttpFoundation\Request();'
EXPOSE 8080
VOLUME /var/www/filegator/repository
VOLUME /var/www/filegator/private
USER www-data
STOPSIGNAL SIGWINCH
CMD ["apache2-foreground"]
LABEL research-env.recipe=$recipe research-env.stand-in-for=filegator/filegator:v7.15.1
DOCKERFILE

  if ! docker build -t "$image" "$ctx" >"$ctx/build.log" 2>&1; then
    tail -n 60 "$ctx/build.log" >&2
    say "build failed"
    exit 1
  fi
  # The legacy builder keeps the builder stage (~670 MB with node_modules) as a dangling image.
  docker image ls -q --filter dangling=true --filter "label=research-env.filegator-builder=$recipe" \
    | xargs -r docker image rm >/dev/null 2>&1 || true
  say "built $image in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
fi

if $save; then
  if [ ! -f "$tarball" ]; then
    mkdir -p "$cache"
    say "saving $image to $tarball"
    tmp_paths+=("$tarball.tmp.$$")
    docker save -o "$tarball.tmp.$$" "$image"
    chmod 0644 "$tarball.tmp.$$"
    mv -f "$tarball.tmp.$$" "$tarball"
  fi
  for old in "$cache/$(basename "$tarball" "-$recipe.tar")"-????????????????.tar; do
    [ -f "$old" ] && [ "$old" != "$tarball" ] && rm -f "$old" && say "removed the outdated $old"
  done
  echo "$tarball"
fi

#!/bin/sh
# deploy/install.sh into a staging root (--root), as an image build would
# run it, and the systemd units of deploy/systemd:
#   1. a first run makes the layout with its modes, the configuration with
#      the installed paths, and every key (hub, hash key, one keypair per
#      endpoint of departments.yaml); hubctl accepts the result
#   2. a second run changes nothing (every file byte for byte, every mode)
#   3. an operator's edit is kept; an endpoint added to departments.yaml
#      gets its keys and inbox on the next run, and no other key changes
#   4. a departments.yaml hubctl refuses makes install.sh fail, saying so
#   5. bad usage exits 2
#   6. the units pass `systemd-analyze verify` (when systemd is installed)
set -u
. "$REPO/tests/integration/lib.sh"

ROOT=$PWD/root
install_sh() {
    run sh "$REPO/deploy/install.sh" --root "$ROOT" --share "$REPO" --hubctl "$HUB_BIN/hubctl" "$@"
}
mode() {
    stat -c %a "$ROOT$1"
}
# A listing of every file and directory under ROOT with its mode and checksum.
snapshot() {
    (cd "$ROOT" && find . -printf '%m %p\n' | LC_ALL=C sort &&
        find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# ---- 1. the first run
install_sh
expect_rc 0
expect_out_has "created /etc/hub/hub.yaml"
expect_out_has "hubctl check --config /etc/hub: ok (26 endpoints)"
for d in /etc/hub:750 /etc/hub/rules.d:750 /etc/hub/adapters:750 /etc/hub/keys:700 \
    /var/lib/hub:700 /var/lib/hub/store:700 /var/lib/hub/adapters:700 /var/spool/hub:750 \
    /var/spool/hub/in:750 /var/spool/hub/out:750 /var/backups/hub:700; do
    check "${d%:*} exists with mode ${d#*:}" test "$(mode "${d%:*}")" = "${d#*:}"
done
check "hub.yaml is 0640" test "$(mode /etc/hub/hub.yaml)" = 640
check "hub.yaml names the installed schemas" grep -q "^schemas: $REPO/schemas\$" "$ROOT/etc/hub/hub.yaml"
check "hub.yaml puts the store in /var/lib/hub" grep -q '^store: /var/lib/hub/store$' "$ROOT/etc/hub/hub.yaml"
check "hub.yaml turns metrics on, on loopback" grep -q '^metrics: "127.0.0.1:9464"$' "$ROOT/etc/hub/hub.yaml"
check "each key of hub.yaml appears once" \
    test -z "$(grep -o '^[a-z_]*:' "$ROOT/etc/hub/hub.yaml" | sort | uniq -d)"
check "the rules are in place" test "$(ls "$ROOT/etc/hub/rules.d" | wc -l)" -eq "$(ls "$REPO/config/rules.d" | wc -l)"
check "the hub's secret key is 0600" test "$(mode /etc/hub/keys/hub.key)" = 600
check "the hash key is 0600" test "$(mode /etc/hub/keys/hash.key)" = 600
check "the hub's public key exists" test -s "$ROOT/etc/hub/keys/hub.pub"
check "26 endpoint keypairs" test "$(ls "$ROOT"/etc/hub/keys/*@*.key | wc -l)-$(ls "$ROOT"/etc/hub/keys/*@*.pub | wc -l)" = "26-26"
check "the township endpoint has its keys" test -s "$ROOT/etc/hub/keys/education@513431101.key"
check "every endpoint has an inbox" test "$(ls "$ROOT/var/spool/hub/out" | wc -l)" -eq 26
check "every endpoint key is distinct, and the hub's" \
    test "$(cat "$ROOT"/etc/hub/keys/*@*.pub "$ROOT/etc/hub/keys/hub.pub" | sort -u | wc -l)" -eq 27
if "$HUB_BIN/hubctl" --help 2>&1 | grep -q -e '--sign-key'; then
    check "the audit signing key is 0600" test "$(mode /etc/hub/keys/audit.sign)" = 600
    check "the audit signing key's public half exists" test -s "$ROOT/etc/hub/keys/audit.sign.pub"
else
    echo "# this hubctl has no keygen --sign-key: no audit signing key was made"
fi
hub check --config "$ROOT/etc/hub"
expect_rc 0
hub rules test --config "$ROOT/etc/hub" --suite "$ROOT/etc/hub/tests"
expect_rc 0

# ---- 2. again: nothing changes
snapshot >first.txt
install_sh
expect_rc 0
expect_out_lacks "created"
expect_out_has "kept the hub's CURVE keypair"
snapshot >second.txt
expect_same first.txt second.txt

# ---- 3. an operator's edit is kept; a new endpoint gets its keys
printf '# edited by the operator\n' >>"$ROOT/etc/hub/rules.d/10-dropout.yaml"
cp "$ROOT/etc/hub/rules.d/10-dropout.yaml" edited.yaml
cp "$ROOT/etc/hub/keys/hub.key" hub.key.before
sed -i 's|"513431101"\]|"513431101", "513431102"]|' "$ROOT/etc/hub/departments.yaml"
check "the test added an endpoint" grep -q 513431102 "$ROOT/etc/hub/departments.yaml"
install_sh
expect_rc 0
expect_out_has "created education@513431102's CURVE keypair"
expect_out_has "(27 endpoints)"
expect_same edited.yaml "$ROOT/etc/hub/rules.d/10-dropout.yaml"
expect_same hub.key.before "$ROOT/etc/hub/keys/hub.key"
check "the new endpoint has an inbox" test -d "$ROOT/var/spool/hub/out/education@513431102"
check "only the new keypair was added" test "$(ls "$ROOT"/etc/hub/keys/*@*.key | wc -l)" -eq 27

# ---- 4. a configuration hubctl refuses
cp "$ROOT/etc/hub/departments.yaml" departments.good
sed -i 's|^    publishes: \[student.enrolment_change\]|    publishes: [student.no_such_type]|' \
    "$ROOT/etc/hub/departments.yaml"
install_sh
expect_rc 1
expect_err_has "the configuration in /etc/hub is refused"
expect_err_has "departments.yaml"
cp departments.good "$ROOT/etc/hub/departments.yaml"

# ---- 5. bad usage
install_sh --no-such-option
expect_rc 2
expect_err_has "unknown argument '--no-such-option'"
run sh "$REPO/deploy/install.sh" --root
expect_rc 2
expect_err_has "option --root needs a value"
run sh "$REPO/deploy/install.sh" --root "$ROOT" --share "$PWD"
expect_rc 1
expect_err_has "no schemas/ and config/hub.yaml under"

# ---- 6. the units
if command -v systemd-analyze >/dev/null 2>&1; then
    # As make install writes them, into a prefix where the binaries exist.
    mkdir -p units prefix/bin prefix/share/hub/deploy
    for b in hubd hubctl hub-adapter hub-sink; do
        cp "$HUB_BIN/hubctl" "prefix/bin/$b"
    done
    cp "$REPO/deploy/backup.sh" prefix/share/hub/deploy/
    for u in "$REPO"/deploy/systemd/*.service "$REPO"/deploy/systemd/*.timer; do
        sed -e "s|/usr/local/bin/|$PWD/prefix/bin/|g" -e "s|/usr/local/share/|$PWD/prefix/share/|g" \
            "$u" >"units/${u##*/}"
    done
    ln -s hub-sink@.service "units/hub-sink@education@513431.service"
    ln -s hub-adapter@.service "units/hub-adapter@education.service"
    run systemd-analyze verify --man=no "$PWD/units/hubd.service" \
        "$PWD/units/hub-sink@education@513431.service" "$PWD/units/hub-adapter@education.service" \
        "$PWD/units/hub-backup.service" "$PWD/units/hub-backup.timer"
    expect_rc 0
    expect_err_empty
else
    echo "# systemd-analyze is not installed: the units were not verified"
fi
for u in "$REPO"/deploy/systemd/*.service; do
    for k in User=hub NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
        PrivateDevices=yes CapabilityBoundingSet= SystemCallFilter=@system-service UMask=0077; do
        check "${u##*/} has $k" grep -q "^$k\$" "$u"
    done
done
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
check "hubd.service reloads with SIGHUP" grep -q '^ExecReload=/bin/kill -HUP $MAINPID$' \
    "$REPO/deploy/systemd/hubd.service"
finish

#!/bin/sh
# hubd end to end with the real binaries: CURVE on loopback, a real LMDB
# store, the shipped rules; publish, dedup, deliver, acknowledge, refuse.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
hubd_start

# The dropout of scenario 1: a child registered in 布拖 (513429) at a 西昌
# (513401) school.
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
DIV=$(sed -n 's/.*"hukou_division": "\([0-9]*\)".*/\1/p' dropout.json | head -1)

pub education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq 1"

# Re-sending the same message is acknowledged as a duplicate, never stored twice.
pub education@513400 dropout.json
expect_out_has "log_seq 1 duplicate"

# The education bureau of the child's hukou county receives it ...
sub "education@$DIV" 5
expect_out_has "deliver 1 "
expect_out_has "student.enrolment_change"
# ... and after its ack, a new subscription starts after it.
sub "education@$DIV" 5 500
expect_out_has "subscribed acked 1 last 1"
expect_out_lacks "deliver"
# The school's county (西昌) receives nothing: default deny, jurisdiction.
sub education@513401 5 500
expect_out_lacks "deliver"

# A department may publish only its own types, as itself.
pub civil_affairs@513400 dropout.json
expect_out_has "nack dropout.json source_mismatch"
sed 's/"source": "education"/"source": "civil_affairs"/' dropout.json >as_civil.json
pub civil_affairs@513400 as_civil.json
expect_out_has "nack as_civil.json not_allowed"

# An invalid message is refused with its reason (and kept as a dead letter).
pub health@513400 "$MSGS/invalid/cid_check_char.json"
expect_out_has "invalid"

# An unknown key never completes the handshake.
"$HUB_BIN/hubctl" keygen stranger --dir . >/dev/null
mkdir -p strangers && mv stranger.pub stranger.key strangers/
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub strangers stranger dropout.json
expect_rc 1
expect_err_has "no WELCOME"
check "hubd logged the refusal" grep -q "event=auth_refused" hubd.log

# The durable outbox: messages and the source cursor in one transaction,
# removed only once the hub acknowledged them; a second run finds the
# messages stored already.
cp "$MSGS/person.death.json" death.json
run "$HUB_TOOLS/hubc_tool" outbox "$URL" cfg/keys/hub.pub cfg/keys health@513400 box death.json
expect_out_has "outbox acked 1 duplicate 0 rejected 0 retry 0 pending 0 cursor 1"
run "$HUB_TOOLS/hubc_tool" outbox "$URL" cfg/keys/hub.pub cfg/keys health@513400 box death.json \
    "$MSGS/invalid/cid_check_char.json"
expect_out_has "outbox acked 0 duplicate 1 rejected 1 retry 0 pending 0 cursor 2"
# The outbox is empty again, so its seqs start at 1 again: the second
# refusal (outbox seq 2 as the first was) is kept beside the first.
run "$HUB_TOOLS/hubc_tool" outbox "$URL" cfg/keys/hub.pub cfg/keys health@513400 box death.json \
    "$MSGS/invalid/cid_scientific.json"
expect_out_has "outbox acked 0 duplicate 1 rejected 1 retry 0 pending 0 cursor 2"
check "the outbox keeps both refusals" \
    test "$(mdb_stat -s rejected box | sed -n 's/^ *Entries: //p')" = 2

# One event per subject (schemas/person.death.yaml): the same death reported
# by public security after health is logged and acknowledged, but civil
# affairs receives the death once.
sed -e 's/"id": "[0-9a-f]*"/"id": "00000000000000000000000000d3a7b2"/' \
    -e 's/"source": "health"/"source": "public_security"/' death.json >death_ps.json
pub public_security@513400 death_ps.json
expect_out_has "ack death_ps.json log_seq"
expect_out_has " same_event "
expect_out_lacks "duplicate"
DDIV=$(sed -n 's/.*"hukou_division": "\([0-9]*\)".*/\1/p' death.json | head -1)
sub "civil_affairs@$DDIV" 10 1000
expect_out_has "person.death"
check "civil affairs receives the death once" test "$(grep -c 'person.death' "$OUT")" = 1
# The second report's log record names the first ("same_event", in hex).
check "the log says which report came first" sh -c \
    "mdb_dump -s log var/store | grep -q 73616d655f6576656e74"

# One event per birth certificate (schemas/person.birth.yaml, one_event_per:
# body.certificate_no), whichever department reports first. Health first
# (the usual order): its certificate (no child ID yet) reaches the police,
# civil affairs and rural revitalisation; the police's registration of the
# same certificate (the child's new ID, another id, another source) is
# acknowledged same_event and delivered to nobody. Police first (a home
# birth): civil affairs and rural revitalisation learn from the police;
# the certificate that follows is the same event, delivered to nobody.
birth() { # OUT ID SOURCE CERT [CID]: the sample birth so
    sed -e "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$2\"/" -e "s/\"source\": \"health\"/\"source\": \"$3\"/" \
        -e "s/R513108124/$4/g" -e "s/\"citizen_id\": \"513431202608120022\"/\"citizen_id\": \"${5:-}\"/" \
        -e '/"citizen_id": "",/d' "$MSGS/person.birth.json" >"$1"
}
birth cert.json 000000000000000000000000000b1701 health R513108124
birth reg.json 000000000000000000000000000b1702 public_security R513108124 513431202608120022
birth home_reg.json 000000000000000000000000000b1703 public_security R513108125 513431202608120049
birth home_cert.json 000000000000000000000000000b1704 health R513108125
check "health's certificate names no child ID" sh -c '! grep -q 51343120260812 cert.json'
pub health@513400 cert.json
expect_out_lacks "same_event"
CERT_SEQ=$(sed -n 's/^ack cert.json log_seq \([0-9]*\).*/\1/p' "$OUT")
pub public_security@513400 reg.json
expect_out_has "ack reg.json log_seq $((CERT_SEQ + 1)) same_event $CERT_SEQ"
pub public_security@513400 home_reg.json
expect_out_has "ack home_reg.json log_seq $((CERT_SEQ + 2))"
expect_out_lacks "same_event"
pub health@513400 home_cert.json
expect_out_has "ack home_cert.json log_seq $((CERT_SEQ + 3)) same_event $((CERT_SEQ + 2))"
# The police get health's certificate only (they do not notify themselves).
sub public_security@513431 10 1000
expect_out_has "deliver 1 000000000000000000000000000b1701 person.birth"
check "the police receive one birth" test "$(grep -c '^deliver' "$OUT")" = 1
for dept in civil_affairs poverty_alleviation; do
    sub "$dept@513431" 10 1000
    expect_out_has "deliver 1 000000000000000000000000000b1701 person.birth"
    expect_out_has "deliver 2 000000000000000000000000000b1703 person.birth"
    check "$dept receives each birth once" test "$(grep -c '^deliver' "$OUT")" = 2
done

# SIGTERM: finish, exit 0; the store keeps everything for the next start.
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
hubd_start
pub education@513400 dropout.json
expect_out_has "log_seq 1 duplicate"
sub "public_security@$DIV" 5
expect_out_has "deliver 1 "
hubd_stop TERM
check "mdb_stat reads the store" mdb_stat -a var/store
finish

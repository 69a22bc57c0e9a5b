# hubctl msg validate | encode | decode, as a user runs them, on the example
# messages in tests/data/messages/ (one valid example per canonical type) and
# tests/data/messages/invalid/ (one defect each, listed in expected.txt).
set -eu
. "$REPO/tests/integration/lib.sh"

TYPES="person.birth person.death household.hukou_change person.residence_permit
student.enrolment_change health.hospitalisation alert.poverty_risk assistance.grant
disability.certificate poverty.household_status security.drug_control health.hiv_followup
grid.incident"

# Valid only once normalised (see the death_valid.json block below).
NEEDS_NORMALIZE=death_valid.json

# --------------------------------------------------------------------------
# Every canonical type has a valid example that fills every field its schema
# declares, and validates as is (no --normalize).

# schema_fields FILE SECTION: the field names under SECTION (subject: or fields:).
schema_fields() {
    awk -v want="$2" '
        /^[a-z]/ { sec = $1 }
        sec == want && /^  [a-z][a-z0-9_]*:/ { sub(/^  /, ""); sub(/:.*/, ""); print }
    ' "$1"
}

for type in $TYPES; do
    f=$MSGS/$type.json
    if [ ! -f "$f" ]; then
        fail "no example message $f"
        continue
    fi
    hub msg validate "$f"
    expect_rc 0
    expect_out_has "$f: valid $type "
    expect_err_empty
    check "$f: \"type\" is not $type" grep -q "\"type\": *\"$type\"" "$f"
    schema=$REPO/schemas/$type.yaml
    for field in $(schema_fields "$schema" subject:) $(schema_fields "$schema" fields:); do
        check "$f lacks the field '$field' that $schema declares" \
            grep -q "\"$field\": *[^ ]" "$f"
    done
done

# Every other example in messages/ validates too (retired_division_valid.json:
# 513425, 会理县 before 2021, stays a valid household-registration division).
for f in "$MSGS"/*.json; do
    case ${f##*/} in "$NEEDS_NORMALIZE") continue ;; esac
    hub msg validate "$f"
    expect_rc 0
    expect_out_has "$f: valid "
    expect_err_empty
    hub msg validate --format json "$f"
    expect_rc 0
    expect_out_has '"valid":true'
    expect_out_has '"problems":[]'
done

hub msg validate "$MSGS/retired_division_valid.json"
expect_rc 0
check "retired_division_valid.json does not use 513425" \
    grep -q '"hukou_division": "513425"' "$MSGS/retired_division_valid.json"

# Many files in one call: all valid, exit 0, one verdict line each.
set --
for type in $TYPES; do
    set -- "$@" "$MSGS/$type.json"
done
hub msg validate "$@"
expect_rc 0
check "msg validate of $# files printed $(grep -c ': valid ' "$OUT") verdicts" \
    [ "$(grep -c ': valid ' "$OUT")" -eq $# ]

# death_valid.json writes the Yi name with U+2022 (•), a middle-dot variant,
# not U+00B7 (·): it is valid once normalised, not as is.
f=$MSGS/death_valid.json
hub msg validate "$f"
expect_rc 1
expect_err_line_has "$f: subject.name: error: " "[not_canonical]"
hub msg validate --normalize --print "$f"
expect_rc 0
expect_out_has '"name": "阿苏·拉且"'
expect_err_has "[normalised]"

# --------------------------------------------------------------------------
# Every invalid example: exit 1, exactly one error, with the expected reason
# and text, in text and in JSON.

INV=$MSGS/invalid
EXPECTED=$INV/expected.txt
expect_file "$EXPECTED"
while IFS='|' read -r name reason text; do
    case $name in '' | '#'*) continue ;; esac
    f=$INV/$name
    if [ ! -f "$f" ]; then
        fail "expected.txt lists $name, which does not exist"
        continue
    fi
    hub msg validate "$f"
    expect_rc 1
    expect_out_has "$f: invalid (1 error)"
    expect_out_lacks ": valid "
    expect_err_line_has "$f: " "error: "
    expect_err_line_has "[$reason]" "$text"
    # FILE: PATH: error: TEXT [reason]
    check "$name: stderr is not 'FILE: PATH: error: TEXT [reason]'" \
        grep -q "^$f: .*error: .* \[$reason\]\$" "$ERR"
    hub msg validate --format json "$f"
    expect_rc 1
    expect_out_has '"valid":false'
    expect_out_has "\"reason\":\"$reason\""
    expect_err_empty
done <"$EXPECTED"

for f in "$INV"/*.json; do
    check "$f is not listed in $EXPECTED" grep -q "^${f##*/}|" "$EXPECTED"
done

# --------------------------------------------------------------------------
# Citizen IDs (GB 11643) in subject.citizen_id.

# death_msg CID BIRTH_DATE SEX > FILE: a person.death with that subject.
death_msg() {
    cat <<EOF
{
  "id": "id-$1",
  "type": "person.death",
  "schema_version": 1,
  "source": "public_security",
  "event_date": "2026-09-15",
  "subject": {
    "citizen_id": "$1",
    "name": "阿苏·拉且",
    "sex": "$3",
    "birth_date": "$2",
    "hukou_division": "513431"
  },
  "body": {"death_date": "2026-09-15", "reporting_source": "public_security"}
}
EOF
}

death_msg 513431201001050019 2010-01-05 1 >cid_ok.json
hub msg validate cid_ok.json
expect_rc 0
expect_err_empty

death_msg 34052419800101001X 1980-01-01 1 >cid_x.json
hub msg validate cid_x.json
expect_rc 0
expect_err_empty

death_msg 513431201001050018 2010-01-05 1 >cid_bad.json
hub msg validate cid_bad.json
expect_rc 1
expect_err_line_has "cid_bad.json: subject.citizen_id: error:" "is 8, expected 9"
expect_err_has "[check_char]"
hub msg validate --format json cid_bad.json
expect_rc 1
expect_out_has '"valid":false'
expect_out_has '"where":"subject.citizen_id","reason":"check_char"'
expect_out_has 'is 8, expected 9'

# A legacy 15-digit ID: not canonical as is; normalised to 18 digits.
death_msg 513425850312001 1985-03-12 1 >cid15.json
hub msg validate cid15.json
expect_rc 1
expect_err_has "[not_canonical]"
expect_err_has "513425198503120011"
hub msg validate --normalize --print cid15.json
expect_rc 0
expect_out_has '"citizen_id": "513425198503120011"'
expect_out_lacks '"513425850312001"'
hub msg validate --normalize --print --format json cid15.json
expect_rc 0
expect_out_has '"valid":true'
expect_out_has '"citizen_id":"513425198503120011"'
hub msg validate --normalize --print "$INV/legacy_15_digit_id.json"
expect_rc 0
expect_out_has '"citizen_id": "513425198503120011"'

# The birth date and the sex in the subject must agree with the ID.
death_msg 513431201001050019 2010-05-01 1 >cid_date.json
hub msg validate cid_date.json
expect_rc 1
expect_err_line_has "subject.birth_date" "[inconsistent]"
death_msg 513431201001050019 2010-01-05 2 >cid_sex.json
hub msg validate cid_sex.json
expect_rc 1
expect_err_line_has "subject.sex" "[inconsistent]"

# The retired division 513425 (会理县) is accepted; 513499 is no Liangshan code.
sed 's/"hukou_division": "513431"/"hukou_division": "513425"/' cid_ok.json >retired.json
hub msg validate retired.json
expect_rc 0
expect_err_empty
sed 's/"hukou_division": "513431"/"hukou_division": "513499"/' cid_ok.json >unknown_div.json
hub msg validate unknown_div.json
expect_rc 1
expect_err_line_has "subject.hukou_division" "[unknown_code]"

# Standard input.
hub msg validate - <"$MSGS/person.birth.json"
expect_rc 0
expect_out_has "valid person.birth"

# A file that cannot be read: failure, not a usage error.
hub msg validate no_such_file.json
expect_rc 1
expect_err_has "no_such_file.json"

# --------------------------------------------------------------------------
# encode / decode: canonical msgpack, round trips, determinism.

for f in "$MSGS"/*.json; do
    b=${f##*/}
    b=${b%.json}
    hub msg encode "$f" -o "$b.a.mp"
    expect_rc 0
    expect_out_empty
    expect_file "$b.a.mp"
    # The top level is a msgpack map whose first key is "body" (keys sorted).
    check "$b.a.mp does not start with a map whose first key is \"body\"" \
        [ "$(od -An -tx1 -N6 "$b.a.mp" | tr -d ' \n' | cut -c1,3-12)" = "8a4626f6479" ]
    # Same message, same bytes: to a file, to a pipe, from standard input.
    hub msg encode "$f" -o "$b.b.mp"
    expect_same "$b.a.mp" "$b.b.mp"
    run sh -c '"$1" msg encode "$2" | cat >"$3"' sh "$HUBCTL" "$f" "$b.c.mp"
    expect_rc 0
    expect_same "$b.a.mp" "$b.c.mp"
    run sh -c '"$1" msg encode <"$2" >"$3"' sh "$HUBCTL" "$f" "$b.d.mp"
    expect_rc 0
    expect_same "$b.a.mp" "$b.d.mp"
    # decode, re-encode the decoded JSON: identical msgpack and identical JSON.
    hub msg decode "$b.a.mp"
    expect_rc 0
    expect_err_empty
    cp "$OUT" "$b.a.json"
    hub msg encode "$b.a.json" -o "$b.e.mp"
    expect_rc 0
    expect_same "$b.a.mp" "$b.e.mp"
    hub msg decode "$b.e.mp"
    cp "$OUT" "$b.e.json"
    expect_same "$b.a.json" "$b.e.json"
    # Compact JSON decodes the same message.
    hub msg decode --format json "$b.a.mp"
    expect_rc 0
    check "decode --format json of $b is not one line" [ "$(wc -l <"$OUT")" -eq 1 ]
    cp "$OUT" "$b.compact.json"
    hub msg encode "$b.compact.json" -o "$b.f.mp"
    expect_same "$b.a.mp" "$b.f.mp"
    # The msgpack form validates like the JSON form.
    case $b.json in "$NEEDS_NORMALIZE") continue ;; esac
    hub msg validate "$b.a.mp"
    expect_rc 0
    expect_out_has "valid "
done

# Key order in the JSON does not matter: the same message written with its
# keys in another order encodes to the same bytes.
cat >reordered.json <<'EOF'
{"body": {"cause_icd10": "I21.9", "place_type": "1", "reporting_source": "hospital",
          "certificate_no": "513401195806110211", "death_date": "2026-10-03"},
 "subject": {"household_no": "513401002317", "hukou_division": "513401",
             "birth_date": "1958-06-11", "ethnicity": "01", "sex": "1", "name": "王德明",
             "citizen_id": "513401195806110211"},
 "recorded_at": "2026-10-03T16:40:00+08:00", "event_date": "2026-10-03",
 "source_ref": "death_cert/513401195806110211", "source": "health", "schema_version": 1,
 "type": "person.death", "id": "5d0a8e2f14b34c7d9e6f1a2b3c4d5e61"}
EOF
hub msg encode reordered.json -o reordered.mp
expect_rc 0
expect_same person.death.a.mp reordered.mp

# The decoder is strict but not picky: keys in any order and integers or
# strings in wider forms than needed decode, and re-encode canonically.
#   {"type": "person.death" (str16), "schema_version": 1 (uint64),
#    "id": "w1" (str8), "source": "health", "event_date": "2026-10-03",
#    "body": {"death_date": "2026-10-03"}}
printf '\206\244type\332\000\014person.death\256schema_version\317\000\000\000\000\000\000\000\001\242id\331\002w1\246source\246health\252event_date\2522026-10-03\244body\201\252death_date\2522026-10-03' >wide.mp
cat >wide.json <<'EOF'
{"id": "w1", "type": "person.death", "schema_version": 1, "source": "health",
 "event_date": "2026-10-03", "body": {"death_date": "2026-10-03"}}
EOF
hub msg decode wide.mp
expect_rc 0
cp "$OUT" wide.decoded.json
hub msg encode wide.decoded.json -o wide.canonical.mp
expect_rc 0
hub msg encode wide.json -o wide.expected.mp
expect_same wide.expected.mp wide.canonical.mp
check "wide.mp is canonical already, so the check above proves nothing" \
    sh -c '! cmp -s wide.mp wide.canonical.mp'

# ... and rejects, naming the byte offset: trailing bytes, a key given twice,
# nil, a float.
cp person.death.a.mp trailing.mp
printf '\300' >>trailing.mp
hub msg decode trailing.mp
expect_rc 1
expect_err_line_has "offset" "[trailing_bytes]"
expect_out_empty
printf '\202\244body\200\244body\200' >dupkey.mp
hub msg decode dupkey.mp
expect_rc 1
expect_err_line_has "offset" "[duplicate_key]"
printf '\202\244type\244x.yz\244body\201\241a\300' >nil.mp
hub msg decode nil.mp
expect_rc 1
expect_err_line_has "body.a" "[wrong_type]"
printf '\202\244type\244x.yz\244body\201\241a\313\077\360\000\000\000\000\000\000' >float.mp
hub msg decode float.mp
expect_rc 1
expect_err_line_has "body.a" "[wrong_type]"
hub msg validate trailing.mp
expect_rc 1
expect_err_has "[trailing_bytes]"

# Integers use their shortest form: 1200000 fen is a uint32 (0xce).
hub msg encode "$MSGS/alert.poverty_risk.json" -o alert.mp
check "alert.poverty_risk amount 1200000 is not encoded as ce 00 12 4f 80" \
    sh -c 'od -An -tx1 alert.mp | tr -d " \n" | grep -q a6616d6f756e74ce00124f80'

# Broken JSON: exit 1 and FILE:LINE:COLUMN.
hub msg encode "$INV/json_syntax.json" -o broken.mp
expect_rc 1
expect_err_has "$INV/json_syntax.json:23:17: error: "
expect_err_has "[json_syntax]"
check "a failed encode left broken.mp behind" [ ! -s broken.mp ]
hub msg encode "$INV/duplicate_key.json" -o broken.mp
expect_rc 1
expect_err_has "$INV/duplicate_key.json:20:16: error: "
expect_err_has "[duplicate_key]"
printf '{"id": "x",\n  "type": 1.5\n' >trunc.json
run sh -c '"$1" msg encode trunc.json >trunc.mp' sh "$HUBCTL"
expect_rc 1
expect_err_has "trunc.json:"
# A float for money: exit 1, wrong_type.
hub msg encode "$INV/wrong_type_money_float.json" -o broken.mp
expect_rc 1
expect_err_line_has "body.total_cost" "[wrong_type]"

# msgpack given to encode, JSON given to decode: refused, exit 1.
hub msg encode person.death.a.mp -o x.mp
expect_rc 1
hub msg decode "$MSGS/person.death.json"
expect_rc 1

# (msg encode to a terminal is refused; not tested: no terminal here.)

# --------------------------------------------------------------------------
# Usage errors: exit 2 and one line naming the reason.

usage_error() {
    expect_rc 2
    expect_err_lines 1
    expect_err_has "hubctl: "
    expect_err_has "$1"
    expect_out_empty
}

hub msg validate
usage_error "needs a FILE"
hub msg validate --format xml "$MSGS/person.death.json"
usage_error "xml"
hub msg validate --format=xml "$MSGS/person.death.json"
usage_error "xml"
hub msg validate --frobnicate "$MSGS/person.death.json"
usage_error "unknown option '--frobnicate'"
hub msg validate -x "$MSGS/person.death.json"
usage_error "unknown option '-x'"
hub msg validate "$MSGS/person.death.json" --format
usage_error "needs a value"
hub msg frob
usage_error "frob"
hub msg
usage_error "subcommand"
hub msg encode a.json b.json
usage_error "one FILE"
hub msg encode --format json "$MSGS/person.death.json"
usage_error "unknown option '--format'"
hub msg decode --format xml person.death.a.mp
usage_error "xml"
hub msg encode "$MSGS/person.death.json" -o
usage_error "needs a value"

for h in --help -h; do
    hub msg validate "$h"
    expect_rc 0
    expect_out_has "usage: hubctl"
    expect_err_empty
done

finish

# Values that are almost right must not pass: a code with a NUL byte after it
# is not that code. JSON cannot carry U+0000 (the parser refuses it), but
# msgpack strings can, so these messages are built as msgpack.
set -eu
. "$REPO/tests/integration/lib.sh"

# death_mp PLACE_TYPE REPORTING_SOURCE SEX SOURCE [TYPE] > FILE: a person.death in
# canonical msgpack; each argument is a whole msgpack string, header included,
# written with printf's octal escapes (hence the variable printf formats).
# shellcheck disable=SC2059
death_mp() {
    printf '\207'
    printf '\244body\203'
    printf '\252death_date\2522026-10-03'
    printf '\252place_type'; printf "$1"
    printf '\260reporting_source'; printf "$2"
    printf '\252event_date\2522026-10-03'
    printf '\242id\242n1'
    printf '\256schema_version\001'
    printf '\246source'; printf "$4"
    printf '\247subject\204'
    printf '\252birth_date\2521958-06-11'
    printf '\252citizen_id\262513401195806110211'
    printf '\244name\251\347\216\213\345\276\267\346\230\216'
    printf '\243sex'; printf "$3"
    printf '\244type'; printf "${5:-\\254person.death}"
}

ONE='\2411' HOSPITAL='\250hospital' MALE='\2411' HEALTH='\246health'
death_mp "$ONE" "$HOSPITAL" "$MALE" "$HEALTH" >death.mp

# The baseline is valid and canonical.
hub msg validate death.mp
expect_rc 0
expect_out_has "valid person.death n1"
hub msg decode death.mp
cp "$OUT" death.json
hub msg encode death.json -o death.again.mp
expect_same death.mp death.again.mp

# The same with one value followed by a NUL byte.
death_mp '\2421\000' "$HOSPITAL" "$MALE" "$HEALTH" >place.mp
death_mp "$ONE" '\251hospital\000' "$MALE" "$HEALTH" >rep.mp
death_mp "$ONE" "$HOSPITAL" '\2421\000' "$HEALTH" >sex.mp
death_mp "$ONE" "$HOSPITAL" "$MALE" '\247health\000' >src.mp
death_mp "$ONE" "$HOSPITAL" "$MALE" "$HEALTH" '\255person.death\000' >type.mp

# U+0000 travels in neither form (JSON text cannot hold it, C strings end
# at it): the decoder refuses it, naming the field.
for f in place sex rep src type; do
    hub msg decode --format json "$f.mp"
    expect_rc 1
    expect_err_has "NUL character"
    hub msg validate "$f.mp"
    expect_rc 1
    expect_out_lacks ": valid "
done
hub msg validate place.mp
expect_err_line_has "body.place_type" "error:"
hub msg validate sex.mp
expect_err_line_has "subject.sex" "error:"

finish

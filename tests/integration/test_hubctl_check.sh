# hubctl check: the shipped configuration loads; a broken schema is refused
# with FILE:LINE:COLUMN pointing at the offending line; usage errors exit 2.
set -eu
. "$REPO/tests/integration/lib.sh"

set -- "$REPO"/schemas/*.yaml
NTYPES=$#
check "the repository has 13 schema files, not $NTYPES" [ "$NTYPES" -eq 13 ]

# --------------------------------------------------------------------------
# The shipped configuration.

hub check
expect_rc 0
expect_out_has "schemas: 13 types"
expect_out_has "ok"
expect_err_empty

hub check --config "$REPO/config"
expect_rc 0
expect_out_has "13 types"

hub check --schemas "$REPO/schemas"
expect_rc 0
expect_out_has "13 types"

# Without --config or HUB_CONFIG: ./config, from the repository root.
run sh -c 'cd "$1" && unset HUB_CONFIG && exec "$2" check' sh "$REPO" "$HUBCTL"
expect_rc 0
expect_out_has "13 types"

hub check --format json
expect_rc 0
expect_out_has '"ok":true'
expect_out_has '"types":13'
expect_out_has '"problems":[]'
check "check --format json is not one line" [ "$(wc -l <"$OUT")" -eq 1 ]

# --------------------------------------------------------------------------
# A private copy of the schemas, named by a config directory of its own.

cp -r "$REPO/schemas" schemas
cp -r "$REPO/config" config   # hub.yaml says schemas: ../schemas

hub check --config config
expect_rc 0
expect_out_has "13 types"

ORIG=$REPO/schemas/person.death.yaml
F=schemas/person.death.yaml

# broken WHAT LINE COLUMN REASON TEXT: checks the refusal of the current
# copy (through --config and through --schemas, in text and in JSON), then
# restores the copy.
broken() {
    what=$1 line=$2 col=$3 reason=$4 text=$5
    if [ -z "$line" ]; then
        fail "$what: the line to break was not found in $ORIG"
        cp "$ORIG" "$F"
        return 0
    fi
    hub check --config config
    expect_rc 1
    expect_out_lacks "ok"
    expect_err_line_has "person.death.yaml:$line:$col: error: " "[$reason]"
    expect_err_line_has "person.death.yaml:$line:" "$text"
    expect_err_has "configuration refused"
    hub check --schemas schemas
    expect_rc 1
    expect_err_line_has "schemas/person.death.yaml:$line:$col: error: " "[$reason]"
    hub check --schemas schemas --format json
    expect_rc 1
    expect_out_has '"ok":false'
    expect_out_has "person.death.yaml:$line:$col\",\"reason\":\"$reason\""
    # Messages cannot be validated against a broken set.
    hub msg validate --config config "$MSGS/person.birth.json"
    expect_rc 1
    expect_err_has "person.death.yaml:$line:$col"
    cp "$ORIG" "$F"
}

TAB=$(printf '\t')

# (a) an indentation error: a key indented deeper than its siblings.
n=$(line_of "$ORIG" '^    required: true$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "      required: true"
broken "indentation" "$n" 15 yaml_syntax "indentation"

# ... and shallower than its siblings.
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "   required: true"
broken "indentation (shallow)" "$n" 4 yaml_syntax "did not find expected key"

# (b) a misspelled key in a body field.
n=$(line_of "$ORIG" '^    sensitivity: personal$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "    sensitivty: personal"
broken "misspelled key" "$n" 5 unknown_key "did you mean 'sensitivity'"

# ... in a subject field written as a flow mapping.
n=$(line_of "$ORIG" '^  citizen_id: *{required: true, sensitivity:')
cp "$ORIG" "$F"
if [ -n "$n" ]; then
    sed "${n}s/sensitivity:/sensitivty:/" "$ORIG" >"$F"
    col=$(sed -n "${n}p" "$F" | awk '{ print index($0, "sensitivty") }')
else
    col=0
fi
broken "misspelled subject key" "$n" "$col" unknown_key "did you mean 'sensitivity'"

# ... at the top level.
n=$(line_of "$ORIG" '^sensitivity: ')
cp "$ORIG" "$F"
[ -z "$n" ] || sed "${n}s/^sensitivity:/sensitivty:/" "$ORIG" >"$F"
broken "misspelled top-level key" "$n" 1 unknown_key "did you mean 'sensitivity'"

# (c) an unknown field type.
n=$(line_of "$ORIG" '^    type: string$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "    type: strng"
broken "unknown field type" "$n" 11 unknown_type "'strng'"

# (d) an enum over a code table that does not exist.
n=$(line_of "$ORIG" '^    codes: death_place$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "    codes: death_places"
broken "unknown code table" "$n" 12 unknown_codes "'death_places'"

# (e) a tab in the indentation.
n=$(line_of "$ORIG" '^    share: conditional$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "${TAB}share: conditional"
broken "tab" "$n" 1 yaml_syntax "tab"

# A key given twice.
n=$(line_of "$ORIG" '^    share: conditional$')
cp "$ORIG" "$F"
dup=
if [ -n "$n" ]; then
    awk -v n="$n" '{ print } NR == n { print "    share: none" }' "$ORIG" >"$F"
    dup=$((n + 1))
fi
broken "duplicate key" "$dup" 5 duplicate_key "given twice"

# An unknown sensitivity word.
n=$(line_of "$ORIG" '^    sensitivity: personal$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "    sensitivity: private"
broken "unknown sensitivity" "$n" 18 bad_value "'private'"

# A list without items.
n=$(line_of "$ORIG" '^    type: string$')
cp "$ORIG" "$F"
[ -z "$n" ] || replace_line "$F" "$n" "    type: list"
broken "list without items" "$n" 5 missing_key "'items'"

# Every copy was restored: the private set loads again.
hub check --config config
expect_rc 0
expect_out_has "13 types"

# A code table with an unquoted code: refused at its line.
C=schemas/codes/ethnicity.yaml
n=$(line_of "$C" '{code: "07"')
if [ -n "$n" ]; then
    sed "${n}s/{code: \"07\"/{code: 07/" "$REPO/schemas/codes/ethnicity.yaml" >"$C"
    hub check --schemas schemas
    expect_rc 1
    expect_err_line_has "codes/ethnicity.yaml:$n:" "[unquoted_code]"
    cp "$REPO/schemas/codes/ethnicity.yaml" "$C"
else
    fail "no code \"07\" in schemas/codes/ethnicity.yaml"
fi

# Broken configuration: a misspelled key in hub.yaml, a missing directory.
printf 'schemaz: ../schemas\n' >config/hub.yaml
hub check --config config
expect_rc 1
expect_err_line_has "config/hub.yaml:1:1: error: " "did you mean 'schemas'"
printf 'schemas: ../nowhere\n' >config/hub.yaml
hub check --config config
expect_rc 1
expect_err_has "nowhere"
hub check --config no_such_dir
expect_rc 1
expect_err_has "no_such_dir"
hub check --schemas no_such_dir --format json
expect_rc 1
expect_out_has '"ok":false'

# --------------------------------------------------------------------------
# Usage errors: exit 2, one line; --help exits 0.

usage_error() {
    expect_rc 2
    expect_err_lines 1
    expect_err_has "hubctl: "
    expect_err_has "$1"
    expect_out_empty
}

hub frobnicate
usage_error "unknown command 'frobnicate'"
hub
usage_error "missing command"
hub check --bogus
usage_error "unknown option '--bogus'"
hub check --format xml
usage_error "xml"
hub check extra
usage_error "extra"
hub check --config
usage_error "needs a value"

for h in --help -h help; do
    hub "$h"
    expect_rc 0
    expect_out_has "usage: hubctl"
    expect_out_has "Exit status"
    expect_err_empty
done
hub check --help
expect_rc 0
expect_out_has "usage: hubctl"

finish

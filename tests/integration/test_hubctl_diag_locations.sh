# Every diagnostic about a file names the offending spot as FILE:LINE:COLUMN,
# whatever the file's path and wherever in the file the defect is.
set -eu
. "$REPO/tests/integration/lib.sh"

# --------------------------------------------------------------------------
# A code given twice in a code table is reported at the second occurrence
# (the line to delete or fix), not at the start of the list.

cp -r "$REPO/schemas" schemas
C=schemas/codes/death_place.yaml
first=$(line_of "$C" '{code: "5"')
printf '  - {code: "5", zh: 其他地点, en: Another place}\n' >>"$C"
dup=$(wc -l <"$C" | tr -d ' ')
hub check --schemas schemas
expect_rc 1
expect_err_has "code '5' appears twice"
expect_err_line_has "[duplicate_code]" "death_place.yaml:$dup:"
if [ -n "$first" ]; then
    # Naming the first occurrence as well is welcome; the list's start is not.
    list=$(line_of "$C" '^codes:')
    items=$((list + 1))
    if [ "$first" -ne "$items" ]; then
        check "duplicate_code reported at the start of the list (line $items)" \
            sh -c '! grep -q "death_place.yaml:$1:.*\[duplicate_code\]" "$2"' sh "$items" "$ERR"
    fi
fi
cp "$REPO/schemas/codes/death_place.yaml" "$C"

# --------------------------------------------------------------------------
# Long paths: a file 200+ characters deep keeps its LINE:COLUMN.

long=$(printf '%0200d' 0 | tr 0 d)
mkdir "$long"
cp "$MSGS/invalid/json_syntax.json" "$long/json_syntax.json"
hub msg encode "$long/json_syntax.json" -o out.mp
expect_rc 1
expect_err_has "$long/json_syntax.json:23:17: error: "
hub msg validate "$long/json_syntax.json"
expect_rc 1
expect_err_has "$long/json_syntax.json:23:17: error: "
hub msg validate --format json "$long/json_syntax.json"
expect_rc 1
expect_out_has "json_syntax.json:23:17\""

cp -r "$REPO/schemas" "$long/schemas"
F=$long/schemas/person.death.yaml
n=$(line_of "$F" '^    share: conditional$')
if [ -n "$n" ]; then
    replace_line "$F" "$n" "$(printf '\t')share: conditional"
    hub check --schemas "$long/schemas"
    expect_rc 1
    expect_err_has "$long/schemas/person.death.yaml:$n:1: error: "
else
    fail "no '    share: conditional' line in person.death.yaml"
fi

finish

#!/bin/sh
# hub-adapter --watch: files that arrive and grow while the adapter runs
# (records written in pieces, a line often half-written when the adapter
# looks), the adapter killed with SIGKILL at random moments and restarted.
# At the end the hub holds every record exactly once: nothing lost, nothing
# twice (the cursor and the messages go into the outbox in one LMDB
# transaction; message ids make a resend harmless).
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

ADAPTER=$HUB_BIN/hub-adapter
MAP=$REPO/tests/data/adapters/hukou_test.yaml
N=240            # records per file, two files
HEADER='公民身份号码,姓名,性别,民族,变动类型,变动日期,迁出地区划,现住地区划,迁移原因,备注'

hubd_setup
hubd_start
mkdir in

# Record I of file F: a move-in to 西昌 with a valid citizen ID (sequence
# I, so every key differs), as two halves.
records() {
    awk -v n="$N" -v f="$1" 'BEGIN {
        split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
        for (i = 1; i <= n; i++) {
            base = sprintf("5134011990%02d%02d%03d", f, (i % 28) + 1, i)
            s = 0
            for (k = 1; k <= 17; k++) s += substr(base, k, 1) * w[k]
            id = base substr("10X98765432", s % 11 + 1, 1)
            sex = (i % 2) ? "男" : "女"
            printf "%s,吉克·阿依,%s,彝族,迁入,2024-02-%02d,513429,513401,\"务工,第%d条\",\n", \
                id, sex, (i % 28) + 1, i
        }
    }'
}

# Writes file F's records, a few at a time, each batch's last line split
# in two with a pause between the halves (the adapter must wait for it).
writer() {
    out=in/hukou_$1.csv
    printf '凉山州公安局 户籍变动（监视测试）,,,,,,,,,\r\n%s\r\n' "$HEADER" >"$out"
    records "$1" >rec_$1.txt
    i=0
    while IFS= read -r line; do
        i=$((i + 1))
        if [ $((i % 7)) -eq 0 ]; then
            half=$(printf '%s' "$line" | cut -c1-25)
            rest=$(printf '%s' "$line" | cut -c26-)
            printf '%s' "$half" >>"$out"
            sleep 0.1
            printf '%s\r\n' "$rest" >>"$out"
        else
            printf '%s\r\n' "$line" >>"$out"
        fi
    done <rec_$1.txt
}

rand_ms() {
    od -An -N2 -tu2 /dev/urandom | awk -v lo="$1" -v hi="$2" '{ print lo + $1 % (hi - lo) }'
}

echo "not an export" >in/notes.txt
writer 1 &
W1=$!
sleep 1
writer 2 &
W2=$!

# Kill the adapter with SIGKILL six times at random moments.
kills=0
while [ $kills -lt 6 ]; do
    "$ADAPTER" -c cfg -m "$MAP" --state st --watch in --poll-ms 30 --batch 5 \
        >>adapter.log 2>&1 &
    APID=$!
    ms=$(rand_ms 300 1200)
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -9 "$APID" 2>/dev/null
    wait "$APID" 2>/dev/null
    kills=$((kills + 1))
done
wait "$W1"
wait "$W2"
before=$(mdb_stat -s log var/store | sed -n 's/.*Entries: //p')
check "the killed runs published part of the records (${before:-0})" test "${before:-0}" -gt 0

# The last run goes on where the killed ones stopped and ends when idle.
run "$ADAPTER" -c cfg -m "$MAP" --state st --watch in --poll-ms 30 --idle-exit 1500
expect_rc 0
expect_out_has "rejected 0"

total=$((2 * N))
check "the hub's log holds every record once ($total)" \
    sh -c "mdb_stat -s log var/store | grep -q 'Entries: $total\$'"
sub civil_affairs@513401 $((total + 20)) 2000
check "civil_affairs@513401 gets $total deliveries" test "$(grep -c '^deliver' "$OUT")" -eq "$total"
check "every delivery is a different message" \
    test "$(grep '^deliver' "$OUT" | cut -d' ' -f3 | sort -u | wc -l)" -eq "$total"

# Every record's message id (docs/ADAPTERS.md: SHA-256 over department,
# type and key) is among the deliveries: no record is missing.
cat rec_1.txt rec_2.txt | while IFS=, read -r cid _ _ _ kind date _; do
    printf 'public_security\000household.hukou_change\000%s\000%s\000%s' "$cid" "$date" "$kind" |
        sha256sum | cut -c1-32
done | sort >want_ids.txt
grep '^deliver' "$OUT" | cut -d' ' -f3 | sort >got_ids.txt
check "want_ids.txt has $total ids" test "$(wc -l <want_ids.txt)" -eq "$total"
expect_same want_ids.txt got_ids.txt

# A file replaced by a shorter one is read again from its start.
printf '%s\r\n' "$HEADER" >in/new.tmp
head -n 3 rec_1.txt | sed 's/$/\r/' >>in/new.tmp
mv in/new.tmp in/hukou_1.csv
run "$ADAPTER" -c cfg -m "$MAP" --state st --watch in --poll-ms 30 --idle-exit 800
expect_rc 0
expect_err_has "in/hukou_1.csv was replaced or shortened since it was read"
expect_out_has "published 0, duplicate 3, skipped 0, rejected 0"

# A file rewritten in place (the same inode), no shorter than before: the
# bytes before its cursor differ, so it too is read from its start.
{
    printf '%s\r\n' "$HEADER"
    sed -n '4,6p' rec_2.txt | sed 's/$/\r/'
    awk 'BEGIN { for (i = 0; i < 30000; i++) printf "\r\n" }'
} >in/hukou_2.csv
run "$ADAPTER" -c cfg -m "$MAP" --state st --watch in --poll-ms 30 --idle-exit 800
expect_rc 0
expect_err_has "in/hukou_2.csv was replaced or shortened since it was read"
expect_out_has "published 0, duplicate 3, skipped 0, rejected 0"

hubd_stop
finish

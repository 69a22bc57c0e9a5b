#!/bin/sh
# hub-adapter end to end (docs/ADAPTERS.md): a GB18030 household-register
# export with title rows and the data-quality defects of DOMAIN.md, mapped
# by tests/data/adapters/hukou_test.yaml and published to a real hubd.
# Checks the summary's counts, the rejected-records report (lines and
# reasons), that re-running publishes nothing new (the cursor; a fresh
# state gets "duplicate" from the hub), that an unreachable hub exits 1
# and the next run delivers what the outbox kept, and that the messages
# arrive at their endpoints.
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

ADAPTER=$HUB_BIN/hub-adapter
MAP=$REPO/tests/data/adapters/hukou_test.yaml

# ---------------------------------------------------------------- usage
run "$ADAPTER" --help
expect_rc 0
expect_out_has "usage: hub-adapter -c CONFIG_DIR -m MAPPING.yaml"
run "$ADAPTER" -c "$REPO/config"
expect_rc 2
expect_err_has "-c CONFIG_DIR and -m MAPPING.yaml are required"
run "$ADAPTER" -c "$REPO/config" -m "$MAP" --bogus 1 x.csv
expect_rc 2
expect_err_has "unknown option '--bogus'"
run "$ADAPTER" -c "$REPO/config" -m "$MAP"
expect_rc 2
expect_err_has "give the files to read, or --watch DIR"
run "$ADAPTER" -c "$REPO/config" -m "$MAP" --poll-ms x --watch .
expect_rc 2
expect_err_has "--poll-ms takes a number"

# A broken mapping names file:line:column and suggests the fix.
sed 's/subject.name: 姓名/subject.name: {colum: 姓名}/; s/as: citizen_id}/as: citizen}/' "$MAP" >bad.yaml
run "$ADAPTER" -c "$REPO/config" -m bad.yaml --dry-run x.csv
expect_rc 2
expect_err_line_has "bad.yaml:21:" "unknown key 'colum' (did you mean 'column'?)"
expect_err_line_has "bad.yaml:20:" "unknown 'as: citizen' (did you mean 'citizen_id'?)"
expect_err_has "the mapping file is broken"
sed 's/endpoint: public_security@513400/endpoint: education@513400/' "$MAP" >ep.yaml
run "$ADAPTER" -c "$REPO/config" -m ep.yaml --dry-run x.csv
expect_rc 2
expect_err_line_has "ep.yaml:6:11" "endpoint 'education@513400' belongs to education"

# ---------------------------------------------------------------- the export
# Lines 1-2 are title rows; the header is on line 3; line 5 holds a quoted
# cell with a comma and a line break, so the next record starts on line 7.
mkdir exports
cat >export.txt <<'CSV'
凉山州公安局 户籍变动登记表,,,,,,,,,
导出时间：2024年3月1日,,,,,,,,,
公民身份号码,姓名,性别,民族,变动类型,变动日期,迁出地区划,现住地区划,迁移原因,备注
513431201001050019,吉克·阿依,男,彝族,迁入,2024.1.5,513429,513401,务工,
513425850312001,张三,男,汉,迁出,2024/1/6,513401,,"投亲, 靠友","第二行
备注"
5.13431E+17,李四,女,彝,迁入,20240107,513429,513401,,
34052419800101001X,王五,男,01,死亡注销,45300,,513401,,
34052419800101001X,王五,男,01,更正,45301,,,,
513431201001050019,阿苏•拉且,男,07,迁入,2024年13月5日,513429,513401,,
513431201001050018,某某,男,07,迁入,2024-01-09,513429,513401,,
513431201001050019,吉克·阿依,男,彝族,迁入,2024.1.5,513429,513401,务工,又报一次
513431201001050019,吉克,男,彝族,结婚,2024-01-05,513429,513401,,
513401198505050036,缺列,男
513431197506070059,BADBYTE,男,彝族,迁入,2024-02-01,513429,513401,,
513429199001010023,阿𠀀ꆈ•且,女,彝族,迁入,2024-02-02,513429,513401,,
513425198503120011,张三,男,汉,迁出,2024/1/6,513401,,,
513431201203040046,,女,彝族,迁入,2024-02-03,513429,513401,,
513401198505050036,赵六,男,火星族,迁入,2024-02-04,513429,513401,,
513431201001050019,吉克·阿依,女,彝族,迁入,2024-02-05,513429,513401,,
513431197506070059,曲比·阿呷,男,彝族,迁入,2024-02-06,513429,513401,,
513431197506070059,曲比·阿呷,男,彝族,=HYPERLINK("x"),2024-02-07,513429,513401,,
CSV
sed 's/$/\r/' export.txt | iconv -f UTF-8 -t GB18030 >gb.csv
# Line 15 gets a byte that is no GB18030 character.
sed 's/BADBYTE/\xff\xfe/' gb.csv >exports/hukou_1.csv
F=exports/hukou_1.csv

# A dry run reads everything, sends nothing, writes no state.
run "$ADAPTER" -c "$REPO/config" -m "$MAP" --dry-run "$F"
expect_rc 0
expect_out_has "published 5, duplicate 2, skipped 1, rejected 10"
expect_out_has '"source_ref":"513425198503120011/2024/1/6/迁出"'
expect_out_has '"reason":"投亲, 靠友；第二行 备注"'
expect_out_has '"name":"阿𠀀ꆈ·且"'
expect_out_has '"event_date":"2024-01-09"'
expect_out_has "rejected $F:7: 公民身份号码 '5.13431E+17': subject.citizen_id: scientific notation"
check "a dry run writes no state" test ! -e var/adapter

hubd_setup
hubd_start

# Keys that are not there are said at once (exit 1), not after retries.
mkdir nokeys
run "$ADAPTER" -c cfg -m "$MAP" --state st --keys nokeys "$F"
expect_rc 1
expect_err_has "the keys of public_security@513400 are not usable"
check "nothing was read without keys" test ! -e st

# The real run: counts, and the report (UTF-8 with a BOM).
run "$ADAPTER" -c cfg -m "$MAP" --state st --rejected rejected.csv "$F"
expect_rc 0
expect_out_has "published 5, duplicate 2, skipped 1, rejected 10"
expect_out_has "  unknown_type_value 2"
for reason in scientific_notation bad_date check_char bad_csv bad_encoding required unknown_code \
    inconsistent; do
    expect_out_has "  $reason 1"
done
check "the report starts with a UTF-8 BOM" sh -c "head -c 3 rejected.csv | od -An -tx1 | grep -q 'ef bb bf'"
check "the report has a header and 10 rows" test "$(wc -l <rejected.csv)" -eq 11
for want in "$F,7,公民身份号码,5.13431E+17,scientific_notation," \
    "$F,10,变动日期,2024年13月5日,bad_date," "$F,11,公民身份号码,513431201001050018,check_char," \
    "$F,13,变动类型,结婚,unknown_type_value," "$F,14,,,bad_csv," "$F,15,姓名,,bad_encoding," \
    "$F,18,姓名,,required," "$F,19,民族,火星族,unknown_code," "$F,20,性别,女,inconsistent," \
    "$F,22,变动类型,\"'=HYPERLINK(\"\"x\"\")\",unknown_type_value,"; do
    check "the report has '$want'" grep -q -F -e "$want" rejected.csv
done
check "the encoding defect names its line and byte" grep -q "line 15, byte [0-9]*: 0xFF is not valid GB18030" rejected.csv

# The hub stored exactly the 5 messages.
check "the hub's log holds 5 messages" sh -c "mdb_stat -s log var/store | grep -q 'Entries: 5'"

# Run again: the cursor says the file was read; nothing is read or sent.
run "$ADAPTER" -c cfg -m "$MAP" --state st --rejected again.csv "$F"
expect_rc 0
expect_out_has "published 0, duplicate 0, skipped 0, rejected 0"
# A fresh state reads it all again: the hub answers duplicate.
run "$ADAPTER" -c cfg -m "$MAP" --state st2 --format json "$F" 2>err2.txt
expect_rc 0
expect_out_has '"published":0,"duplicate":7,"skipped":1,"rejected":10'
check "the hub's log still holds 5 messages" sh -c "mdb_stat -s log var/store | grep -q 'Entries: 5'"

# Deliveries: 3 move-ins to 西昌 and the death (registered in 西昌) reach
# civil affairs there.
sub civil_affairs@513401 10 1500
expect_rc 0
check "civil_affairs@513401 gets 4 deliveries" test "$(grep -c '^deliver' "$OUT")" -eq 4
expect_out_has "person.death"
expect_out_has "household.hukou_change"

# An unreachable hub: exit 1, the messages stay in the outbox, the next
# run (hub reachable) delivers them and reads nothing twice.
cat >export2.txt <<'CSV'
公民身份号码,姓名,性别,民族,变动类型,变动日期,迁出地区划,现住地区划,迁移原因,备注
513401198505050036,赵六,男,汉,迁出,2024-03-01,513401,,,
513429199001010023,阿依,女,彝族,迁出,2024-03-02,513429,,,
CSV
iconv -f UTF-8 -t GB18030 export2.txt >exports/hukou_2.csv
run "$ADAPTER" -c cfg -m "$MAP" --state st --url tcp://127.0.0.1:1 --retry-ms 1500 exports/hukou_2.csv
expect_rc 1
expect_err_has "does not answer"
expect_err_has "2 message(s) stay in the outbox"
run "$ADAPTER" -c cfg -m "$MAP" --state st exports/hukou_2.csv
expect_rc 0
expect_out_has "published 2, duplicate 0, skipped 0, rejected 0"
check "the hub's log holds 7 messages" sh -c "mdb_stat -s log var/store | grep -q 'Entries: 7'"

hubd_stop
finish

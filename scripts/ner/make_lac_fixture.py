#!/usr/bin/env python3
"""Reference outputs of LAC 2.1.2 for Tests/NamedEntitiesTests/Fixtures/lac-reference.json.

LAC's own Python code does the segmentation and the id mapping (segment.py, prefix_tree.py and reader.py from the
sdist, imported as they are). The network itself is run here in numpy, transcribed from LAC's nets.py (two BiGRU layers
with Paddle's dynamic_gru, origin_mode false; fc to the tags; crf_decoding), because Paddle's fluid API that LAC needs
has no build for this Python. Usage:

    python3 scripts/ner/make_lac_fixture.py LAC_SOURCE_DIR > Tests/NamedEntitiesTests/Fixtures/lac-reference.json

LAC_SOURCE_DIR is the unpacked sdist's LAC-2.1.2 directory (pip download LAC==2.1.2, see scripts/fetch-lac.sh).
"""
import json
import struct
import sys
import types

import numpy as np

source = sys.argv[1]
package = types.ModuleType("LAC")
package.__path__ = [source + "/LAC"]
sys.modules["LAC"] = package
from LAC.segment import Segment  # noqa: E402
from LAC.reader import load_kv_dict  # noqa: E402
import LAC.reader as reader  # noqa: E402

base = source + "/LAC/lac_model/"


def tensor(name):
    data = open(base + "model/" + name, "rb").read()
    offset = 4
    (levels,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    for _ in range(levels):
        (size,) = struct.unpack_from("<Q", data, offset)
        offset += 8 + size
    offset += 4
    (length,) = struct.unpack_from("<i", data, offset)
    offset += 4
    desc = data[offset:offset + length]
    offset += length
    dims, i = [], 0

    def varint():
        nonlocal i
        result = shift = 0
        while True:
            byte = desc[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    while i < len(desc):
        key = varint()
        if key & 7 == 0:
            value = varint()
            if key >> 3 == 2:
                dims.append(value)
        else:
            stop = i + varint()
            while i < stop:
                dims.append(varint())
    return np.frombuffer(data[offset:], dtype=np.float32).reshape(dims)


class Args:
    word_dict_path = base + "conf/word.dic"
    label_dict_path = base + "conf/tag.dic"
    word_rep_dict_path = base + "conf/q2b.dic"
    model = "lac"


dataset = reader.Dataset(Args())
segmenter = Segment(base + "conf/small_seg.dic")
P = {name: tensor(name) for name in ["word_emb", "crfw"] + [f"fc_{i}.{t}_0" for i in range(5) for t in "wb"]
     + [f"gru_{i}.{t}_0" for i in range(4) for t in "wb"]}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def gru(x, weight, bias, reverse):
    hidden = weight.shape[0]
    flat = weight.reshape(-1)
    gates = flat[:2 * hidden * hidden].reshape(hidden, 2 * hidden)
    candidate = flat[2 * hidden * hidden:].reshape(hidden, hidden)
    x = x + bias.reshape(-1)
    h = np.zeros(hidden, np.float32)
    out = np.zeros((len(x), hidden), np.float32)
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        g = sigmoid(x[t, :2 * hidden] + h @ gates)
        u, r = g[:hidden], g[hidden:]
        c = np.tanh(x[t, 2 * hidden:] + (r * h) @ candidate)
        h = (1 - u) * h + u * c
        out[t] = h
    return out


def decode(ids):
    x = P["word_emb"][ids]
    for layer in range(2):
        outs = []
        for direction in range(2):
            i = 2 * layer + direction
            projected = x @ P[f"fc_{i}.w_0"] + P[f"fc_{i}.b_0"]
            outs.append(gru(projected, P[f"gru_{i}.w_0"], P[f"gru_{i}.b_0"], direction == 1))
        x = np.concatenate(outs, 1)
    emissions = x @ P["fc_4.w_0"] + P["fc_4.b_0"]
    crf = P["crfw"]
    start, end, transitions = crf[0], crf[1], crf[2:]
    score, back = start + emissions[0], []
    for t in range(1, len(emissions)):
        s = score[:, None] + transitions
        back.append(s.argmax(0))
        score = s.max(0) + emissions[t]
    path = [int((score + end).argmax())]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return path[::-1]


TEXTS = [
    "张伟住在北京市海淀区中关村大街27号，他在腾讯公司工作。",
    "我叫李晓梅，明天下午三点去上海浦东新区世纪大道100号开会。",
    "欧阳娜娜和王小明昨天在杭州西湖边见了阿里巴巴的工程师。",
    "请把包裹寄到广东省深圳市南山区科技园南区高新南一道8号，收件人陈建国。",
    "华为技术有限公司的总部位于深圳，北京大学的刘教授也去过。",
    "2023年5月1日，赵敏从成都飞往乌鲁木齐。",
    "我的同事Mike Chen在微软亚洲研究院上班，电话13800138000。",
    "ＡＢＣ公司的ｆｕｌｌ－ｗｉｄｔｈ文本也要处理。",
    "周杰伦的演唱会在台北小巨蛋举行。",
    "马云说过，今天很残酷，明天更残酷，后天很美好。",
    "你好",
    "一",
    "Hello world, this is plain English text with Paris and John.",
    "诸葛亮和司马懿在五丈原对峙。",
    "中国人民银行发布了新的货币政策。",
    "请联系上海交通大学附属瑞金医院的王主任。",
    "他从江苏省南京市玄武区珠江路88号搬到了浙江省宁波市。",
    "习惯早起的孙悟空去了花果山水帘洞。",
    "😀表情符号和中文混在一起：李雷和韩梅梅。",
    "东方明珠电视塔在黄浦江边。",
    "小王、小李和老张都是清华的校友。",
    "美国总统在白宫会见了日本首相。",
    "我在7-11买了三瓶水，花了15.5元。",
    "邓紫棋的新歌在网易云音乐上线了。",
    "快递员把件放在了朝阳区建国路93号万达广场B座门口。",
    "国家税务总局北京市税务局发布公告。",
    "黄河流经青海、甘肃、宁夏、内蒙古、陕西、山西、河南、山东。",
    "林黛玉葬花的故事出自《红楼梦》。",
    "明天下午我去银行办理业务。",
    "姚明曾效力于休斯顿火箭队。",
]

fixtures = []
for text in TEXTS:
    segments = segmenter.fast_cut(text)
    ids, lengths = dataset.text_to_ids(segments)
    tags = [dataset.id2label_dict[str(t)] for t in decode(np.array(ids))]
    fixtures.append({"text": text, "segments": segments, "ids": ids, "lengths": lengths, "tags": tags})
json.dump({"source": "LAC==2.1.2 segment.py/reader.py; network in numpy (scripts/ner/make_lac_fixture.py)",
           "cases": fixtures}, sys.stdout, ensure_ascii=False, indent=1)
print()

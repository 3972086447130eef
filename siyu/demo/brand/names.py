"""Chinese names and cities for the demo brand's people and places."""

from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓"
    "曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任"
)
GIVEN_FEMALE = (
    "婷",
    "静",
    "敏",
    "燕",
    "丽",
    "娟",
    "芳",
    "琳",
    "雪",
    "慧",
    "颖",
    "倩",
    "佳",
    "欣",
    "怡",
    "悦",
    "萱",
    "晴",
    "璐",
    "楠",
    "瑶",
    "蕾",
    "薇",
    "琪",
    "菲",
    "露",
    "妍",
    "嘉",
    "思",
    "雨",
)
GIVEN_MALE = (
    "伟",
    "强",
    "磊",
    "洋",
    "勇",
    "军",
    "杰",
    "涛",
    "明",
    "超",
    "浩",
    "宇",
    "晨",
    "鹏",
    "辉",
)
CITIES = (
    ("上海", 30),
    ("杭州", 14),
    ("南京", 10),
    ("成都", 10),
    ("苏州", 8),
    ("北京", 8),
    ("深圳", 6),
    ("广州", 5),
    ("武汉", 4),
    ("宁波", 3),
    ("重庆", 2),
)


def person_name(rng: random.Random, *, female: bool) -> str:
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    given = rng.choice(pool) if rng.random() < 0.35 else rng.choice(pool) + rng.choice(pool)
    return rng.choice(SURNAMES) + given


def weighted_city(rng: random.Random) -> str:
    return rng.choices([city for city, _ in CITIES], [weight for _, weight in CITIES])[0]

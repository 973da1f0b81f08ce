"""Query analysis of the knowledge base (desk/kb/text.py)."""

from __future__ import annotations

import pytest

from desk.kb.scope import alternatives
from desk.kb.text import Analyzer, normalize


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.mark.parametrize(
    "question, joined",
    [
        ("租的房子去备个案 到底有啥用", ["备案"]),
        ("社保交了几个月 落得了户不", ["落户"]),
        ("孩子上不了户", ["上户"]),
        ("有个人说能办", []),  # 有人 is a pronoun, no separable verb
        ("生了个娃", []),  # 生娃 is no word the segmenter knows
    ],
)
def test_separable_verbs_written_apart_are_joined(analyzer: Analyzer, question: str, joined: list) -> None:
    assert analyzer.joined_verbs(question) == joined
    for word in joined:
        assert word in analyzer.expand(question).split()


@pytest.mark.parametrize(
    "regional, standard",
    [("要办啥子证", "要办什么证"), ("莫得社保", "没有社保"), ("屋头老人", "家里老人"), ("咋个办", "怎么办")],
)
def test_regional_question_words_read_as_standard_ones(regional: str, standard: str) -> None:
    assert normalize(regional) == standard


@pytest.mark.parametrize(
    "dialect, mandarin",
    [
        # Cantonese words
        ("听日要搭飞机但系身份证唔见咗", "明天要搭飞机但是身份证丢了"),
        ("老细两个月唔出粮", "老板两个月不发工资"),
        ("bb出世几耐之内参保", "宝宝出生多久之内参保"),
        ("佢要几多岁先得", "他要多少岁先得"),
        # A character Mandarin uses too stays where only Cantonese would change it.
        ("仲裁委员会的联系电话", "仲裁委员会的联系电话"),
        ("仲有冇其他材料", "还有没有其他材料"),
        # and pinyin initials of the commonest words
        ("三孩家庭两口子都交gjj", "三孩家庭两口子都交公积金"),
        # Wu words
        ("老太婆身份证寻勿着了，补一张要几钿", "老太婆身份证找不到了,补一张要多少钱"),
        ("老板欠了阿拉三个月工钿勿发", "老板欠了我们三个月工资不发"),
        ("小囡的医保好一道办掉伐", "孩子的医保好一道办掉吗"),
        ("明朝一早要乘飞机，哪能弄", "明天一早要乘飞机,怎么弄"),
        # 伐 asks only after the words listed; 阿拉伯 is no 我们.
        ("擅自砍伐树木", "擅自砍伐树木"),
        ("阿拉伯语翻译", "阿拉伯语翻译"),
        # and north-eastern ones
        ("俺明儿就得坐飞机，身份证没了咋整，急死个人", "俺明天就得坐飞机,身份证没了怎么办,急死人"),
        ("孩子都俩个月了", "孩子都两个月了"),
        # Minnan words; 伊 and 汝 keep their place in names, 阮 is 我 only before 厝, 是, 的.
        ("阮翁仔某两个人拢有缴公积金，今嘛贷款上限是偌济", "阮夫妻两个人拢有缴公积金,现在贷款上限是多少"),
        ("厝里无电了，要去佗位查", "家里没电了,要去哪里查"),
        ("伊走袂动了，睡袂着", "他走不动了,睡不着"),
        ("伊朗和汝州的阮先生", "伊朗和汝州的阮先生"),
        # Hunan, Jiangxi and Hubei words; 么样 inside 怎么样 and 要得 inside 需要得到 stay.
        ("我老倌子到广州跟伢住，备案要开么子证明", "我老伴到广州跟孩子住,备案要开什么证明"),
        ("屋里冇得人，要得不", "家里没有人,可以不"),
        ("怎么样才能需要得到什么样的证", "怎么样才能需要得到什么样的证"),
        # Cantonese 啱 (对), Minnan 毋 (不) and 按呢 (这样)
        ("系呀，啱", "系呀,对"),
        ("毋是按呢", "不是这样"),
        # Traditional characters, with Taiwan words, and the Cantonese 嗰 that OpenCC would
        # otherwise read as a traditional form.
        ("老闆拖了三個月薪水不發", "老板拖了三个月薪水不发"),
        ("計程車繞遠路", "出租车绕远路"),
        ("以前嗰啲年限會唔會冇晒", "以前那些年限会不会没有晒"),
        # Simplified text that uses 著 and 乾 is left as it is.
        ("著名的乾隆年间", "著名的乾隆年间"),
    ],
)
def test_dialect_words_read_as_mandarin(dialect: str, mandarin: str) -> None:
    assert normalize(dialect) == mandarin


def test_people_words_are_listed(analyzer: Analyzer) -> None:
    assert {"老年人", "子女"} <= analyzer.lexicon.people


def test_a_word_inside_a_longer_variant_keeps_its_own_documents_word(analyzer: Analyzer) -> None:
    # "外地户口" stands for 非本市户籍; its 户口 still stands for 户籍 ("不限户籍").
    found = alternatives(analyzer, "户口", analyzer.variants("外地户口到底能不能自己交"))
    assert "非本市户籍" in found and "户籍" in found


@pytest.mark.parametrize(
    "question, meant",
    [
        ("我妈中风后下不了床 政府能补贴请人上门做饭吗", "居家养老"),
        ("物业说不交管理费就停水", "物业费"),
        ("水龙头一滴水都没有 多久该来水", "停水"),
        # a child described by its age in months or by birth order is a newborn
        ("娃都四个月了才去交的医保", "新生儿"),
        ("三胎娃医保要交钱吗", "新生儿"),
        # stopping one's heating is asked of the heating-period guide (its keyword 供暖期)
        ("申请停暖 截止日期", "供暖期"),
    ],
)
def test_colloquial_descriptions_expand_to_the_documents_words(
    analyzer: Analyzer, question: str, meant: str
) -> None:
    assert meant in analyzer.expand(question).split()


@pytest.mark.parametrize(
    "clause, asks",
    [
        ("退休金就那么点", False),  # 那么 holds 么 but tells
        ("我一个月工资才几千块", False),
        ("一个月能免费拉几件", True),
        ("这么多材料都要带吗", True),
    ],
)
def test_a_story_phrase_with_a_question_character_does_not_ask(
    analyzer: Analyzer, clause: str, asks: bool
) -> None:
    assert analyzer.asks(clause) is asks

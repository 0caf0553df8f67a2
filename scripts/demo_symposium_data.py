"""People, voices, agenda and script of the demo symposium (scripts/make_demo_symposium.py).

A shortened replay of the US–Japan online symposium of 29 September 2022 (event page:
shared/seed, full agenda: configs/symposium-2022.yaml): the same people, the same order of
business and the same topics, but every speaker says only a few sentences. The lines are
written for this demo; they follow the event's published themes and are not a transcript.

Each person speaks one language, because each synthetic voice can speak only one: Kokoro's
voices speak Japanese, espeak-ng's speak English. Every line carries a reference translation
into the other language, which the interpretation track voices and the truth file records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from demo_audio import Voice


@dataclass(frozen=True)
class Person:
    id: str
    name_en: str
    name_ja: str
    aliases: tuple[str, ...]
    title_en: str
    title_ja: str
    affiliation_en: str
    affiliation_ja: str
    language: str  # the one language this person speaks in the demo
    role: str  # role in the config's people list (and default role in a session)
    voice: Voice


# Voices were chosen with the resemblyzer speaker encoder so that every two people stay
# apart (cosine similarity below about 0.85; the measured matrix is written to
# recordings/demo/voice-similarity.json on every run). Kokoro has five Japanese voices and
# there are nine Japanese speakers, so four are pitch+formant-shifted copies; jf_nezumi is
# not used because it is too close to jf_gongitsune (0.91). Willis's espeak voice is shifted
# down because unshifted it sat at 0.86 with Smith's. The clip's four people keep the voices
# they have in recordings/demo/demo-clip.opus (the Japanese ones speak a little faster here:
# Kokoro's default pace is slow for a conference, and the recording has to stay short).
KUMO, ALPHA, GONGITSUNE, TEBUKURO = "jm_kumo", "jf_alpha", "jf_gongitsune", "jf_tebukuro"

PEOPLE = [
    Person("shibano", "Tomoo Shibano", "柴野相雄", ("柴野", "しばの", "Shibano"),
           "Partner (Attorney)", "パートナー弁護士", "TMI Associates", "TMI総合法律事務所",
           "ja", "host", Voice("kokoro", KUMO, speed=1.2)),
    Person("shiroyama", "Hideaki Shiroyama", "城山英明", ("城山", "しろやま", "Shiroyama"),
           "Director of Institute for Future Initiatives", "未来ビジョン研究センター長",
           "Institute for Future Initiatives, The University of Tokyo", "東京大学未来ビジョン研究センター",
           "ja", "speaker", Voice("kokoro", KUMO, speed=1.05, shift=0.85)),
    Person("hines", "Tom Hines", "トム・ハインズ", ("ハインズ", "Hines"),
           "Counselor for Economic and Scientific Affairs", "経済・科学担当公使参事官",
           "U.S. Embassy in Tokyo", "在日米国大使館",
           "en", "speaker", Voice("espeak", "en-us+m1", pitch=50, rate=160)),
    Person("iida", "Yoichi Iida", "飯田陽一", ("飯田", "いいだ", "Iida"),
           "Cabinet Councillor", "内閣参事官",
           "National Security Secretariat, Government of Japan", "内閣官房国家安全保障局",
           "ja", "speaker", Voice("kokoro", ALPHA, speed=1.15)),
    Person("suarez", "Gonzalo Suarez", "ゴンザロ・スアレス", ("スアレス", "Suarez"),
           "Acting Deputy Assistant Secretary", "次官補代理代行",
           "Bureau of International Security and Nonproliferation, U.S. Department of State",
           "米国国務省国際安全保障・不拡散局",
           "en", "speaker", Voice("espeak", "en+klatt2", pitch=40, rate=165)),
    Person("aruga", "Osamu Aruga", "有賀理", ("有賀", "あるが", "Aruga"),
           "Director for International Affairs", "参事官（国際担当）",
           "Secretariat of Science, Technology and Innovation Policy, Cabinet Office, Japan",
           "内閣府科学技術・イノベーション推進事務局",
           "ja", "speaker", Voice("kokoro", TEBUKURO, speed=1.1, shift=0.8)),
    Person("smith", "Tobin Smith", "トビン・スミス", ("スミス", "Toby Smith", "Smith"),
           "Vice President for Science Policy & Global Affairs", "科学政策・国際担当副会長",
           "Association of American Universities (AAU)", "米国大学協会（AAU）",
           "en", "speaker", Voice("espeak", "en-gb+f3", pitch=70, rate=170)),
    Person("watanabe", "Toshiya Watanabe", "渡部俊也", ("渡部", "わたなべ", "Watanabe"),
           "Vice President, Professor of Institute for Future Initiatives",
           "副学長・未来ビジョン研究センター教授", "The University of Tokyo", "東京大学",
           "ja", "speaker", Voice("kokoro", GONGITSUNE, speed=1.1, shift=0.78)),
    Person("ueno", "Kazuhide Ueno", "上野一英", ("上野", "うえの", "Ueno"),
           "Partner (Attorney)", "パートナー弁護士", "TMI Associates", "TMI総合法律事務所",
           "ja", "moderator", Voice("kokoro", KUMO, speed=1.2, shift=1.2)),
    Person("tahmassian", "Ara Tahmassian", "アラ・タマシアン", ("Thamassian", "タマシアン", "Tahmassian"),
           "Chief Research Compliance Officer", "最高研究コンプライアンス責任者",
           "Harvard University", "ハーバード大学",
           "en", "panelist", Voice("espeak", "en-us+klatt4", pitch=80, rate=155)),
    Person("willis", "Todd Willis", "トッド・ウィリス", ("ウィリス", "Willis"),
           "Compliance Specialist, Directorate of Defense Trade Controls, Office of Compliance",
           "国防貿易管理局 コンプライアンス担当",
           "Bureau of Political-Military Affairs, U.S. Department of State", "米国国務省政治軍事局",
           "en", "panelist", Voice("espeak", "en-gb-scotland+m7", pitch=30, rate=145, shift=0.88)),
    Person("asai", "Yosuke Asai", "浅井洋介", ("浅井", "あさい", "Asai"),
           "Director, Security Export Control Administration Division", "安全保障貿易審査課長",
           "Trade and Economic Cooperation Bureau, METI", "経済産業省貿易経済協力局",
           "ja", "panelist", Voice("kokoro", ALPHA, speed=1.1, shift=0.8)),
    Person("sahashi", "Ryo Sahashi", "佐橋亮", ("佐橋", "さはし", "Sahashi"),
           "Associate Professor of International Relations", "准教授（国際関係論）",
           "Institute for Advanced Studies on Asia / Institute for Future Initiatives, The University of Tokyo",
           "東京大学東洋文化研究所・未来ビジョン研究センター",
           "ja", "speaker", Voice("kokoro", TEBUKURO, speed=1.1)),
    # The interpreters speak on the interpretation track only, each into one language.
    Person("interpreter-ja", "Japanese interpreter", "日本語通訳", ("通訳",),
           "Simultaneous interpreter (English to Japanese)", "同時通訳（英語→日本語）", "", "",
           "ja", "interpreter", Voice("kokoro", GONGITSUNE, speed=1.2)),
    Person("interpreter-en", "English interpreter", "英語通訳", ("interpreter",),
           "Simultaneous interpreter (Japanese to English)", "同時通訳（日本語→英語）", "", "",
           "en", "interpreter", Voice("espeak", "en-gb-x-rp+f4", pitch=70, rate=175)),
]
PERSON = {p.id: p for p in PEOPLE}
INTERPRETER_INTO = {"ja": "interpreter-ja", "en": "interpreter-en"}

# Spoken forms for words the synthesizers misread. The truth keeps the written form.
READINGS = {
    "ja": {"有賀": "あるが", "G7": "ジーセブン", "AI": "エーアイ"},
    "en": {"ITAR": "eye-tar", "AAU": "A A U"},
}


@dataclass(frozen=True)
class Line:
    person: str
    text: str  # as written; the truth records this
    translation: str  # reference translation into the other language
    # Silence before the line. None: drawn from the seeded generator (longer at a change of
    # speaker). Negative: the line starts before the previous one ends (an overlap).
    pause_s: Optional[float] = None


@dataclass(frozen=True)
class Session:
    id: str
    title_en: str
    title_ja: str
    planned_start: str  # "HH:MM:SS" on the scheduled clock (the event starts at 08:00:00)
    planned_end: str
    lines: tuple[Line, ...]


L = Line

OPENING = (
    L("shibano",
      "皆様、おはようございます。定刻となりましたので、ただいまより日米オンラインシンポジウムを開催いたします。",
      "Good morning, everyone. It is time, so we will now open the US–Japan online symposium."),
    L("shibano",
      "司会を務めます、TMI総合法律事務所の柴野でございます。同時通訳は、画面下の通訳ボタンから言語をお選びください。",
      "I am Shibano of TMI Associates, your host today. For simultaneous interpretation, please "
      "choose your language with the interpretation button at the bottom of the screen."),
    L("shibano",
      "開会にあたり、東京大学未来ビジョン研究センター長の城山英明先生、よろしくお願いいたします。",
      "To open the symposium, Professor Hideaki Shiroyama, Director of the Institute for Future "
      "Initiatives at the University of Tokyo, please."),
    L("shiroyama",
      "城山です。日本では今年、経済安全保障推進法が成立しました。その柱の一つが、宇宙、海洋、量子、AI、バイオといった分野での、"
      "官民による先端的な重要技術の研究開発です。",
      "I am Shiroyama. In Japan, the Economic Security Promotion Act was passed this year. One of its pillars is "
      "public and private research and development of advanced critical technologies in fields "
      "such as space, ocean, quantum, AI and biotechnology."),
    L("shiroyama",
      "研究開発は本来、国際的に開かれたものです。自前主義の罠に陥らないよう、特に米国との共同研究を進めることが重要です。",
      "Research and development is by nature open and international. To avoid the trap of "
      "self-sufficiency, it is important to pursue joint research, especially with the United States."),
    L("shiroyama",
      "一方で、日米の法制度の違いが、現場の研究者にとって障害となることもあります。"
      "本日は、その違いと実際の課題を率直に議論できればと思います。",
      "On the other hand, differences between the legal systems of Japan and the United States "
      "can become obstacles for researchers. Today I hope we can discuss those differences and "
      "the real problems frankly."),
    L("shibano",
      "城山先生、ありがとうございました。続きまして、在日米国大使館、経済・科学担当公使参事官の"
      "トム・ハインズ様、お願いいたします。",
      "Thank you, Professor Shiroyama. Next, I'd like to invite Mr. Tom Hines, Counselor for "
      "Economic and Scientific Affairs at the U.S. Embassy in Tokyo. Mr. Hines, please."),
    L("hines",
      "Thank you, Mr. Shibano, and good morning. The U.S.-Japan alliance is stronger than ever, and our researchers compete and innovate "
      "side by side in quantum, artificial intelligence and biotechnology.",
      "柴野さん、ありがとうございます。おはようございます。日米同盟はかつてないほど強固であり、両国の研究者は量子、人工知能、バイオテクノロジーの分野で"
      "肩を並べて競い合い、イノベーションを生み出しています。"),
    L("hines",
      "But we have to be realistic. Some actors seek to exploit the openness of international "
      "research, so we must manage those risks and build a robust system for joint research.",
      "しかし、現実を直視しなければなりません。国際的な研究の開放性を悪用しようとする者もいます。"
      "そうしたリスクに対処し、共同研究のための強固な仕組みを築かなければなりません。"),
)

SESSION_1 = (
    L("shibano",
      "ハインズ様、ありがとうございました。セッション1に移ります。続きまして、内閣官房の飯田参事官にお願いいたします。",
      "Thank you, Mr. Hines. We now move to Session 1. Next, Councillor Iida of the Cabinet "
      "Secretariat, please."),
    L("iida",
      "内閣官房の飯田でございます。経済安全保障推進法の四つの柱について、簡単にご説明します。",
      "I am Iida from the Cabinet Secretariat. Let me briefly explain the four pillars of the "
      "Economic Security Promotion Act."),
    L("iida",
      "一つ目は重要物資のサプライチェーンの強靭化、二つ目は基幹インフラの安全性の確保です。",
      "The first is making supply chains for critical products more resilient, and the second "
      "is securing the safety of core infrastructure."),
    L("iida",
      "三つ目が先端的な重要技術の官民協力による開発、四つ目が特許出願の非公開制度です。"
      "安全保障上機微な発明は、公開を留保できるようになります。",
      "The third is public-private cooperation in developing advanced critical technologies, and "
      "the fourth is a system for keeping certain patent applications undisclosed. Inventions "
      "that are sensitive for national security can be withheld from publication."),
    L("iida",
      "また、研究インテグリティとセキュリティの確保は、昨年、政府の方針として決定されました。"
      "大学や研究者には、外国からの資金や兼業の状況を適切に開示していただくようお願いしています。",
      "In addition, ensuring research integrity and security was adopted as government policy "
      "last year. We are asking universities and researchers to properly disclose foreign funding "
      "and outside appointments."),
    L("shibano",
      "飯田参事官、ありがとうございました。続きまして、米国国務省のスアレス次官補代理代行、お願いいたします。",
      "Thank you, Councillor Iida. Next, Acting Deputy Assistant Secretary Suarez of the U.S. "
      "Department of State, please."),
    L("suarez",
      "Thank you. My name is Gonzalo Suarez, and I work in the Bureau of International Security "
      "and Nonproliferation at the State Department.",
      "ありがとうございます。ゴンザロ・スアレスと申します。国務省の国際安全保障・不拡散局に勤めております。"),
    L("suarez",
      "Research security is now a shared priority. In the G7 working group, our countries are "
      "building common principles, so that open science stays open, but not naive.",
      "研究セキュリティは、いまや共通の優先課題です。G7の作業部会では、開かれた科学が開かれたまま、"
      "しかし無防備にならないよう、各国が共通の原則をつくっています。"),
    L("suarez",
      "Export controls are one tool among many. Our goal is to keep sensitive technology away "
      "from weapons programs, not to stop scientists from talking to each other.",
      "輸出管理は、数ある手段の一つにすぎません。私たちの目的は、機微な技術を兵器開発から遠ざけることであって、"
      "科学者同士の対話を止めることではありません。"),
)

SESSION_2 = (
    L("shibano",
      "スアレス様、ありがとうございました。続いてセッション2に入ります。最初に、内閣府の有賀参事官、お願いいたします。",
      "Thank you, Mr. Suarez. We now begin Session 2. First, Director Aruga of the Cabinet "
      "Office, please."),
    L("aruga",
      "内閣府の有賀でございます。研究インテグリティの取り組みについてご紹介します。",
      "I am Aruga from the Cabinet Office. I will introduce our work on research integrity."),
    L("aruga",
      "政府の資金配分機関は、研究者に対し、他の研究資金や所属機関の情報を申告するよう求めています。"
      "虚偽の申告があれば、資金の停止もあり得ます。",
      "Government funding agencies now ask researchers to declare their other research funds "
      "and affiliations. If a declaration is false, the funding can be stopped."),
    L("shibano",
      "有賀参事官、ありがとうございました。次に、米国大学協会のトビン・スミス副会長にお願いいたします。",
      "Thank you, Director Aruga. Next, I would like to ask Mr. Tobin Smith, Vice President of "
      "the Association of American Universities."),
    L("smith",
      "Thank you. I'm Toby Smith from the Association of American Universities. I'd like to "
      "talk about the fundamental research exception.",
      "ありがとうございます。米国大学協会のトビー・スミスです。基礎研究の適用除外についてお話しします。"),
    L("smith",
      "In the United States, basic and applied research whose results are ordinarily published "
      "is fundamental research, and those results are not subject to export controls.",
      "米国では、成果が通常公開される基礎研究や応用研究は基礎研究とされ、その成果は輸出管理の対象になりません。"),
    L("smith",
      "That matters because of deemed exports. Sharing controlled technology with a foreign "
      "national inside the United States counts as an export to that person's country, and "
      "many of our graduate students come from abroad.",
      "これが重要なのは、みなし輸出があるからです。米国内であっても、規制対象の技術を外国人に提供すれば、"
      "その人の国への輸出とみなされます。そして、大学院生の多くは海外から来ています。"),
    L("shibano",
      "スミス様、ありがとうございました。最後に、東京大学の渡部副学長、お願いいたします。",
      "Thank you, Mr. Smith. Finally, Vice President Watanabe of the University of Tokyo, please."),
    L("watanabe",
      "渡部です。日本では今年五月から、みなし輸出の管理が明確化されました。国内の居住者であっても、"
      "外国の強い影響下にある場合は、管理の対象になります。",
      "This is Watanabe. In Japan, the control of deemed exports was clarified in May this year. Even residents "
      "of Japan are covered if they are under strong foreign influence."),
    L("watanabe",
      "大学はこれを一人ひとり確認しなければなりませんが、輸出管理の担当者は一人か二人という大学が多く、"
      "専門人材の育成と研修が急務です。",
      "Universities have to check this person by person, but many have only one or two export "
      "control staff, so developing and training specialists is urgent."),
)

SESSION_3 = (
    L("shibano",
      "渡部先生、ありがとうございました。セッション3、パネルディスカッションに移ります。モデレーターは上野弁護士です。",
      "Thank you, Professor Watanabe. We now move to Session 3, the panel discussion. Our "
      "moderator is Mr. Ueno."),
    L("ueno",
      "上野でございます。最初の論点は、米国のエンティティ・リストと日本の外国ユーザーリストの違いです。"
      "タマシアンさん、いかがでしょうか。",
      "This is Ueno. The first issue is the difference between the U.S. entity list and Japan's "
      "end user list. Mr. Tahmassian, what is your view?"),
    L("tahmassian",
      "Thank you. At Harvard, we screen every foreign collaborator and sponsor against the "
      "restricted party lists, including the entity list.",
      "ありがとうございます。ハーバード大学では、海外の共同研究者とスポンサーをすべて、"
      "エンティティ・リストを含む取引制限リストと照合しています。"),
    L("tahmassian",
      "The two lists name different organizations, so a partner that is fine under Japanese "
      "rules can still be restricted for us.",
      "二つのリストでは掲載されている組織が異なるため、日本のルールでは問題のない相手でも、"
      "私たちにとっては制限の対象となることがあります。"),
    L("ueno",
      "ありがとうございます。浅井課長、日本の外国ユーザーリストはどのような位置付けでしょうか。",
      "Thank you. Director Asai, what is the role of Japan's end user list?"),
    L("asai",
      "経済産業省の浅井です。外国ユーザーリストは、大量破壊兵器の開発などの懸念が払拭されない団体を、"
      "輸出者に知らせるものです。",
      "I am Asai from the Ministry of Economy, Trade and Industry. The end user list tells "
      "exporters about entities of concern, for example for the development of weapons of mass "
      "destruction."),
    L("asai",
      "掲載されていても、直ちに取引が禁止されるわけではありません。原則として許可が必要になる、"
      "米国のエンティティ・リストとの大きな違いです。",
      "Being listed does not immediately prohibit transactions. That is a major difference from "
      "the U.S. entity list, under which a license is required in principle."),
    L("ueno",
      "次に、基礎研究の例外について伺います。ウィリスさん、国務省の立場からいかがでしょうか。",
      "Next, I would like to ask about the fundamental research exception. Mr. Willis, what is "
      "the State Department's view?"),
    L("willis",
      "Under the ITAR, information from fundamental research at accredited universities is in "
      "the public domain, and it is not controlled.",
      "国際武器取引規則のもとでは、認定された大学での基礎研究から得られた情報はパブリックドメインにあり、"
      "規制の対象になりません。"),
    L("willis",
      "But the exclusion does not cover defense services, or research where the sponsor "
      "restricts publication. Those need a license.",
      "ただし、防衛役務や、スポンサーが公表を制限する研究には、この除外は適用されません。それらには許可が必要です。"),
    # Quick exchanges: short turns, short gaps, and one panelist who starts before the
    # moderator has finished (negative pause), as happens in real panels.
    L("ueno",
      "短くお伺いします。大学には、輸出管理の担当者が何人ぐらい必要でしょうか。",
      "A quick question. How many export control staff does a university need?",
      pause_s=0.5),
    L("tahmassian",
      "It depends on the research portfolio, but we have a dedicated team of six.",
      "研究の内容によりますが、私たちには六人の専任チームがあります。",
      pause_s=-0.7),
    L("asai",
      "日本の大学では、専任は一人という所も多いですね。",
      "At Japanese universities, many have just one dedicated person.",
      pause_s=0.35),
    L("ueno",
      "最後に、セキュリティ・クリアランスと特許の非公開について、一言ずつお願いします。",
      "Finally, a word from each of you on security clearances and patent non-disclosure.",
      pause_s=0.6),
    L("willis",
      "In the U.S., classified work needs a clearance, and patent secrecy orders have existed "
      "for decades.",
      "米国では、機密扱いの研究にはクリアランスが必要で、特許の秘密保持命令も何十年も前からあります。",
      pause_s=0.45),
    L("asai",
      "日本でも、法律の施行により特許出願の非公開制度が始まります。クリアランス制度は、これから議論が進む段階です。",
      "In Japan too, the non-disclosure system for patent applications will start as the law "
      "takes effect. A clearance system is still being discussed.",
      pause_s=0.5),
    L("ueno",
      "ありがとうございました。時間となりましたので、パネルディスカッションはここまでといたします。",
      "Thank you very much. As we are out of time, we will end the panel discussion here."),
)

CLOSING = (
    L("shibano",
      "皆様、ありがとうございました。最後に、東京大学の佐橋亮准教授より、閉会のご挨拶をいただきます。",
      "Thank you all. Finally, Associate Professor Ryo Sahashi of the University of Tokyo will "
      "give the closing remarks."),
    L("sahashi",
      "佐橋です。本日は、開かれた研究環境と安全保障をどう両立させるかについて、非常に具体的な議論ができました。",
      "This is Sahashi. Today we had a very concrete discussion of how to reconcile an open "
      "research environment with security."),
    L("sahashi",
      "リストの違い、基礎研究の扱い、そして人材の不足は、日米が協力して取り組むべき課題です。"
      "今後も対話を続けてまいりましょう。",
      "The difference between the lists, the treatment of fundamental research and the "
      "shortage of staff are issues Japan and the United States should tackle together. Let us "
      "continue this dialogue."),
    L("shibano",
      "以上をもちまして、本日のシンポジウムを終了いたします。ありがとうございました。",
      "This concludes today's symposium. Thank you very much."),
)

# Planned lengths are the agenda's; the recording deviates from them (see the truth file).
SESSIONS = (
    Session("opening", "Opening Remarks", "開会挨拶", "08:00:00", "08:01:30", OPENING),
    Session("session-1",
            "Session 1: Report on “Economic Security, Integrity & Security, Export Control” for "
            "research cooperation between US and Japan",
            "セッション1：日米研究協力における「経済安全保障・インテグリティ＆セキュリティ・輸出管理」に関する報告",
            "08:01:30", "08:03:00", SESSION_1),
    Session("session-2",
            "Session 2: Export Control System and Integrity & Security Management from the "
            "perspective of research cooperation between US and Japan",
            "セッション2：日米研究協力の観点からの輸出管理制度とインテグリティ＆セキュリティ管理",
            "08:03:00", "08:05:00", SESSION_2),
    Session("session-3", "Session 3: Case Study & Panel Discussion",
            "セッション3：ケーススタディ＆パネルディスカッション", "08:05:00", "08:07:00", SESSION_3),
    Session("closing", "Closing Remarks", "閉会挨拶", "08:07:00", "08:08:00", CLOSING),
)

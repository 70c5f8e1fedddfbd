"""Word lists behind the segmenter's decisions (private to :mod:`pipeline.segment`).

All lists are matched case-sensitively on the word before a period (the part after a last hyphen or
slash, so ``D-Calif.`` looks up ``Calif``); an all-caps word is also looked up in title case, so
``GEN.`` behaves like ``Gen.``.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Abbreviations that stand before a name or title and practically never end a sentence.
NEVER_FINAL = _words(
    """
    Mr Mrs Ms Mx Messrs Mmes Dr Drs Prof Profs Gen Gens Lt Col Maj Capt Cmdr Cmdt Adm Sgt Cpl Pvt Brig
    Sen Sens Rep Reps Gov Govs Pres Rev Hon Msgr Supt Insp Det Atty Amb Cong Secy Sec Asst Ft Mt Fr
    vs v viz cf
    """
)

# Abbreviations that stand before a number ("No. 10", "Art. 5", "p. 12"): no break before a digit.
NUMBER_PREFIXES = _words("No Nos Nr Art Arts Fig Figs Vol Vols Ch Chap Sec Sect Para Pg no nos vol fig p pp n nn")

# Month abbreviations: no break before a day ("Jan. 5"); otherwise treated as AMBIGUOUS.
MONTHS = _words("Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec")

# Abbreviations that can end a sentence as well as sit inside one ("Apple Inc. said" / "... Apple Inc.
# The"): a break only when the next word is a common sentence opener (see STARTERS).
AMBIGUOUS = _words(
    """
    Inc Ltd Corp Co Cos Bros Jr Sr Esq St Ste Ave Blvd Rd Hwy Sq Dept Univ Assn Intl Natl Govt Mfg
    Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun
    Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Kans Ky La Md Mass Mich Minn Miss Mo Mont Neb
    Nebr Nev Okla Ore Oreg Pa Penn Tenn Tex Vt Va Wash Wis Wisc Wyo
    etc al approx est misc ca incl excl dept govt min max avg jr sr inc ltd co corp bros esq
    ft yr yrs mo mos hr hrs lb lbs oz sq
    """
)

# Words that often open an English news sentence. After an AMBIGUOUS abbreviation, a break is made only
# when one of these follows; proper nouns ("U.S. President", "Inc. Chief") do not trigger one.
STARTERS = _words(
    """
    A An The This That These Those There Here It Its He His Him She Her They Their Them We Our Us I My
    You Your Who What When Where Why How Which Whose Whom
    But And Or So Yet Nor Because Although Though While Whether If As After Before Since Until Unless
    Once Even Still Also However Meanwhile Moreover Furthermore Instead Indeed Nevertheless Nonetheless
    Then Now Today Yesterday Tomorrow Later Earlier Last Next Finally Thus Therefore Otherwise Rather
    In On At For From With Without By Of To Under Over During Despite According Among About Against
    Through Between Within Across Along Following Amid Like Unlike Besides
    Some Many Most All Several Few Both Each Every Such Other Another Any No None Not Only More Much
    Less Neither Either One Two Three Four Five Six Seven Eight Nine Ten First Second Third
    Is Are Was Were Be Been Do Does Did Can Could Will Would Should Shall May Might Must Has Have Had
    Nobody Nothing Everyone Everybody Everything Someone Somebody Anyone Anybody
    Yes Please Let Just Perhaps Maybe Sometimes Often Never Always Asked Critics Officials Police
    """
)

SPEECH_VERBS = (
    "said|says|say|asked|asks|told|tells|added|adds|wrote|writes|replied|replies|insisted|insists|"
    "explained|explains|argued|argues|noted|notes|continued|continues|declared|declares|tweeted|"
    "shouted|screamed|yelled|cried|wondered|wonders|recalled|recalls|joked|jokes|quipped|laughed"
)

# Capitalised speaker words then a speech verb closing the clause: '"Why?" Smith asked.' is one sentence.
SPEECH_TAG_RE = re.compile(
    r"(?:[A-Z][\w'’.-]*[ \t\u00a0]+){0,4}"
    rf"(?:{SPEECH_VERBS})"
    r"(?=[ \t\u00a0]*(?:[.,;:!?—–]|$)|[ \t\u00a0]+(?:on|in|at|during|after|before|while|when|as|to|via|"
    r"from|with|late|earlier|later|last|this|yesterday|today|Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday)\b)"
)

# Dotted initialisms and abbreviations: U.S, Ph.D, a.m, D.C, e.g, J.R.R (the final period is not included).
DOTTED_RE = re.compile(r"(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}")

# A list marker at the start of a sentence: "1.", "12.", "a.", "B.", "iv.", "IV.".
LIST_MARKER_RE = re.compile(r"\d{1,3}|[A-Za-z]|[ivx]{1,4}|[IVX]{1,4}")


def lookup_form(word: str) -> str:
    """The form of ``word`` to look up: all-caps words in title case (``GEN`` -> ``Gen``)."""
    if len(word) > 1 and word.isupper() and word.isalpha():
        return word.title()
    return word


def is_starter(word: str) -> bool:
    return word in STARTERS or lookup_form(word) in STARTERS

"""Words that make up an instruction to the reviewing system, in nine languages.

Each signal is a list of regex fragments (case-insensitive, no nested quantifiers, gaps bounded:
the compiled alternations run in linear time). `reviewer.injection.multilingual` combines them:
no single signal flags a sentence except an override of earlier instructions.

Languages: English, German, French, Spanish, Portuguese, Italian, Russian, Chinese, Japanese.
"""
from __future__ import annotations

# A gap of a few words inside one sentence (never across one: no terminal punctuation).
G = r"[^.!?;。！？]{0,40}?"
GS = r"[^.!?;。！？]{0,16}?"

# -- Overrides of the reviewer's own instructions: verb + (earlier/system) + instructions ----------
OVERRIDE_VERB = [
    # en
    r"\bignor(?:e|ing)\b", r"\bdisregard", r"\bforget\b", r"\bforgetting\b", r"\boverrid(?:e|ing)\b",
    r"\boverrule", r"\bbypass", r"\bdiscard", r"\bset aside\b", r"\bpay no attention\b", r"\bdo not follow\b",
    r"\bdon't follow\b", r"\bstop following\b", r"\bno longer follow\b",
    # de
    r"\bignorier\w*", r"\bmissachte\w*", r"\bvergiss\b", r"\bvergessen\b", r"\bübergeh\w*", r"\baußer acht\b",
    r"\bausser acht\b", r"\bnicht (?:mehr )?(?:befolgen|beachten|folgen)\b", r"\bhinweg\w*", r"\bverwirf\b",
    r"\bverwerfen\b",
    # fr
    r"\bignor(?:ez|er|e|ant)\b", r"\boubli(?:ez|er|e)\b", r"\bne (?:tenez|tiens) (?:pas|plus) compte\b",
    r"\bfaites abstraction\b", r"\boutrepass\w*", r"\bpassez outre\b", r"\bne suivez (?:pas|plus)\b",
    # es / pt / it
    r"\bignor(?:a|ad|ar|e|en|em|ate|are|ando)\b", r"\bolvid(?:a|e|ad|ar|en)\b", r"\bhaz caso omiso\b",
    r"\bhaga caso omiso\b", r"\bno (?:sigas|siga|sigan)\b", r"\bdescart(?:a|e|ar)\b", r"\bpasa por alto\b",
    r"\besque(?:ç|c)a\b", r"\besquecer\b", r"\bdesconsider(?:e|a|ar)\b", r"\bnão siga\b", r"\bnao siga\b",
    r"\bdimentic(?:a|are|ate|hi)\b", r"\btrascur(?:a|are|ate|i)\b", r"\bnon seguire\b",
    r"\bnon tenere conto\b", r"\bnon tenete conto\b",
    # ru
    r"\b(?:про)?игнорир\w*", r"\bпроигнорируй\w*", r"\bзабудь\w*", r"\bзабыть\b", r"\bне обращай\w* внимани\w*",
    r"\bне следуй\w*", r"\bотбрось\w*", r"\bпренебреги\w*", r"\bотмени\w*",
    # zh / ja (no word boundaries in these scripts)
    r"忽略", r"忽视", r"无视", r"忘记", r"忘掉", r"不要遵循", r"不要遵守", r"不理会", r"无需理会", r"不必理会", r"覆盖",
    r"無視", r"忘れ", r"従わない", r"従わず", r"破棄",
]
OVERRIDE_PRIOR = [
    r"\bprevious\b", r"\bprior\b", r"\bpreceding\b", r"\babove\b", r"\bearlier\b", r"\bformer\b", r"\binitial\b",
    r"\boriginal\b", r"\bsystem\b", r"\bexisting\b", r"\bgiven\b", r"\breview(?:ing)?\b", r"\byour\b",
    r"\bvorherig\w*", r"\bvorige\w*", r"\bbisherig\w*", r"\bobig\w*", r"\bfrüher\w*", r"\bvorangegangen\w*",
    r"\bursprünglich\w*", r"\bsystem\w*", r"\bdeine\w*", r"\bihre\w*",
    r"\bprécédent\w*", r"\bantérieur\w*", r"\bci-dessus\b", r"\binitiales?\b", r"\bvos\b",
    r"\banterior\w*", r"\bprevi[oa]s\b", r"\bde arriba\b", r"\binicia\w*", r"\boriginal\w*", r"\bsus\b",
    r"\bacima\b", r"\bprévi[oa]s\b", r"\bsuas\b",
    r"\bprecedent\w*", r"\bsopra\b", r"\biniziali\b", r"\btue\b", r"\bsue\b", r"\bvostre\b",
    r"\bпредыдущ\w*", r"\bпрежн\w*", r"\bвыше\w*", r"\bранее\b", r"\bранн\w*", r"\bизначальн\w*", r"\bсистемн\w*",
    r"\bисходн\w*", r"\bсво\w*", r"\bваш\w*",
    r"之前", r"以前", r"先前", r"上述", r"前面", r"此前", r"原有", r"原来", r"系统", r"所有", r"上面",
    r"これまで", r"上記", r"先の", r"前の", r"元の", r"以前", r"システム", r"すべての", r"全ての",
]
OVERRIDE_NOUN = [
    r"\binstructions?\b", r"\bprompts?\b", r"\bdirections\b", r"\bguidelines?\b", r"\brules\b", r"\bcommands?\b",
    r"\bdirectives?\b", r"\bcriteria\b", r"\bcontext\b", r"\borders\b", r"\bsystem message\b",
    r"\banweisung\w*", r"\binstruktion\w*", r"\bvorgabe\w*", r"\bregeln\b", r"\brichtlinie\w*", r"\bbefehl\w*",
    r"\bprompts?\b", r"\banordnung\w*", r"\bkriterien\b",
    r"\bconsignes?\b", r"\bdirectives?\b", r"\brègles\b", r"\bordres\b", r"\bcritères\b",
    r"\binstrucci\w*", r"\bindicaciones\b", r"\bdirectrices\b", r"\breglas\b", r"\bórdenes\b", r"\bcriterios\b",
    r"\binstruç\w*", r"\binstruc(?:o|õ)es\b", r"\bdiretrizes\b", r"\bregras\b", r"\bordens\b", r"\borientaç\w*",
    r"\bcomandos\b", r"\bcritérios\b",
    r"\bistruzion\w*", r"\bindicazioni\b", r"\bdirettive\b", r"\bregole\b", r"\bordini\b", r"\bcriteri\b",
    r"\bинструкци\w*", r"\bуказани\w*", r"\bправил\w*", r"\bкоманд\w*", r"\bпромпт\w*", r"\bдиректив\w*",
    r"\bзапрос\w*", r"\bкритери\w*",
    r"指令", r"指示", r"提示词", r"提示", r"说明", r"规则", r"要求", r"命令", r"准则",
    r"命令", r"プロンプト", r"ルール", r"規則", r"指図", r"基準",
]

# -- The addressee: a reviewer, or a system that reads the paper ----------------------------------
_AUTO_EN = r"(?:automated|automatic|ai|a\.i\.|llm|machine|algorithmic|model)[- ](?:\w+[- ]){0,2}?" \
           r"(?:assess\w*|evaluat\w*|review\w*|grad\w*|scor\w*|screen\w*|judg\w*|rating|systems?|tools?|readers?)"
ADDRESSEE = [
    r"\breviewers?\b", r"\breferees?\b", r"\bevaluators?\b", r"\bgraders?\b", r"\bassessors?\b", r"\bjudges?\b",
    r"\bllms?\b", r"\bai\b", r"\ba\.i\.", r"\b(?:large )?language models?\b", r"\bchatbots?\b", r"\bassistants?\b",
    r"\b(?:chat)?gpt(?:-?\d\w*)?\b", r"\bclaude\b", r"\bgemini\b", _AUTO_EN,
    r"\b(?:evaluation|assessment|review(?:ing)?|grading|scoring|screening) (?:systems?|tools?|pipelines?|models?|software|agents?)\b",
    r"\bgutachter\w*", r"\bbegutachter\w*", r"\brezensent\w*", r"\breviewer\w*", r"\bki\b", r"\bk\.i\.",
    r"\bsprachmodell\w*", r"\bbewertungs(?:system|programm|software|modell|werkzeug)\w*",
    r"\bautomatisiert\w* (?:bewertung|begutachtung|prüfung|auswertung|beurteilung)\w*",
    r"\bautomatisch\w* (?:bewertung|begutachtung|prüfung|auswertung|beurteilung)\w*", r"\bassistent\w*",
    r"\brelect(?:eur|rice)s?\b", r"\bévaluat(?:eur|rice)s?\b", r"\brapporteurs?\b", r"\bexaminat(?:eur|rice)s?\b",
    r"\bia\b", r"\bi\.a\.", r"\bmodèles? de langu\w*", r"\bsystèmes? d'évaluation\b",
    r"\bévaluation (?:automatique|automatisée)\b", r"\bcorrecteurs?\b",
    r"\brevisor(?:es|as?)?\b", r"\bevaluador(?:es|as?)?\b", r"\bárbitros?\b", r"\bmodelos? de (?:lenguaje|linguagem)\b",
    r"\bsistemas? de (?:evaluación|avaliação|avaliacao)\b", r"\b(?:evaluación|avaliação|avaliacao) automáti\w*",
    r"\b(?:evaluación|avaliação) automatizad\w*", r"\bavaliador(?:es|as?)?\b", r"\bpareceristas?\b",
    r"\bsistemas? automátic\w* de (?:evaluación|avaliação)\b",
    r"\brevisor[ei]\b", r"\bvalutator[ei]\b", r"\bmodell[oi] (?:linguistic\w*|di linguaggio)\b",
    r"\bsistem[ai] di valutazione\b", r"\bvalutazione automati\w*",
    r"\bрецензент\w*", r"\bревьюер\w*", r"\bии\b", r"\bискусственн\w* интеллект\w*", r"\bязыков\w* модел\w*",
    r"\bсистем\w* (?:автоматическ\w* )?оцен\w*", r"\bавтоматическ\w* (?:оцен|провер|рецензир)\w*",
    r"\bоценщик\w*", r"\bэксперт\w*", r"\bнейросет\w*",
    r"审稿人", r"审稿专家", r"审稿系统", r"评审人", r"评审专家", r"评审员", r"评审系统", r"人工智能", r"大模型",
    r"语言模型", r"自动评审", r"自动评估", r"自动评价", r"自动审稿", r"评估系统", r"评分系统", r"助手",
    r"査読者", r"査読システム", r"レビュアー", r"レビューア", r"審査員", r"評価者", r"人工知能", r"言語モデル",
    r"自動評価", r"自動査読", r"評価システム", r"採点システム", r"アシスタント",
]

# -- The document itself as the object: "this paper", "diese Arbeit", "本文" ------------------------
SELF = [
    r"\b(?:this|the present|the current|the attached|the enclosed|our) (?:\w+ )?"
    r"(?:paper|manuscript|submission|work|article|study|contribution|document|preprint)\b",
    r"\b(?:diese[rsnm]?|vorliegende[rsnm]?|unsere[rsnm]?) (?:\w+ )?"
    r"(?:arbeit|artikels?|papiers?|papers?|beitrags?|einreichung|manuskripts?|studie|publikation|dokuments?)\b",
    r"\b(?:cet|ce|cette|notre|le présent|la présente) (?:\w+ )?"
    r"(?:article|papier|manuscrit|soumission|travail|contribution|étude|document)\b",
    r"\b(?:este|esta|nuestro|nuestra|el presente|la presente) (?:\w+ )?"
    r"(?:artículo|articulo|trabajo|manuscrito|envío|contribución|estudio|documento|ponencia)\b",
    r"\b(?:este|esta|nosso|nossa|o presente|a presente) (?:\w+ )?"
    r"(?:artigo|trabalho|manuscrito|submissão|submissao|contribuição|estudo|documento)\b",
    r"\b(?:questo|questa|il presente|la presente|nostro|nostra) (?:\w+ )?"
    r"(?:articolo|lavoro|manoscritto|contributo|studio|documento|sottomissione|paper)\b",
    r"\b(?:эт|данн|настоящ|наш)\w* (?:стать|работ|рукопис|публикац|исследовани|документ)\w*",
    r"本文", r"本论文", r"这篇论文", r"该论文", r"此论文", r"这篇文章", r"本篇论文", r"本研究", r"这项工作", r"本工作", r"本稿",
    r"本論文", r"この論文", r"本研究", r"この研究", r"当論文", r"この原稿", r"本原稿", r"この投稿",
]
# -- What the instruction wants: acceptance, a high score, praise, silence about weaknesses --------
POSITIVE = [
    # en
    r"\baccept (?:this|the|our) (?:\w+ )?(?:paper|manuscript|submission|work|article)\b",
    r"\brecommend\w*" + GS + r"\b(?:acceptance|publication|accepting|to accept|for accept\w*)\b",
    r"\b(?:strong|clear|definite|definitive|unconditional|full|immediate|outright|enthusiastic)(?:ly)?"
    r" accept(?:ance)?\b", r"\b10 ?/ ?10\b", r"\b10 out of 10\b", r"\bten out of ten\b",
    r"\b(?:high|higher|highest|top|maximum|maximal|max|full|perfect|best|excellent|outstanding|favou?rable|positive"
    r"|glowing|stellar|generous|lenient|enthusiastic)(?: possible)? (?:\w+ )?"
    r"(?:scores?|ratings?|marks?|grades?|reviews?|evaluations?|assessments?|appraisals?|verdicts?|feedback"
    r"|recommendations?|opinions?)\b",
    r"\b(?:rate[ds]?|rating|score[ds]?|scoring|grade[ds]?|grading|evaluate[ds]?|evaluating|assess(?:ed|es|ing)?"
    r"|review(?:ed)?|judge[ds]?|mark(?:ed)?|rank(?:ed)?|treat(?:ed)?|regard(?:ed)?|view(?:ed)?|consider(?:ed)?"
    r"|look upon)\b" + G
    + r"\b(?:highly|favou?rably|positively|generously|leniently|kindly|very well|as excellent|as outstanding"
    r"|as (?:a )?strong accept|as (?:a )?top|with (?:a )?(?:10|ten)|in (?:a|the most) (?:positive|favou?rable) light)\b",
    r"\b(?:overlook|ignore|disregard|downplay|gloss over|play down|omit|skip|not mention|not discuss|not list"
    r"|not point out|not highlight|not criticize|not criticise|not report|avoid mentioning|refrain from mentioning)"
    r"\w*" + GS + r"\b(?:weakness|limitation|flaw|shortcoming|criticism|concern|negative|drawback)\w*",
    r"\bfocus (?:only|exclusively|solely) on\b" + GS + r"\b(?:strengths|positives?|merits)\b",
    r"\b(?:deserves?|merits?|warrants?) (?:a |an |the )?(?:\w+ )?(?:acceptance|accept|publication|award|high\w*|top)\b",
    r"\bbe (?:accepted|rated highly|scored highly|given (?:a )?high\w*)\b",
    # de
    r"\b(?:annahme|akzeptanz|veröffentlichung|publikation)\b" + GS + r"\bempf\w*",
    r"\bempf(?:ehl|iehl)\w*" + G + r"\b(?:annahme|akzeptanz|veröffentlichung|anzunehmen|zu akzeptieren)\b",
    r"\b(?:hohe|höchste|beste|bestmögliche|maximale|volle|positive|wohlwollende|sehr gute|ausgezeichnete"
    r"|hervorragende|günstige|gute)[nrs]? (?:\w+ )?(?:bewertung|note|punktzahl|wertung|beurteilung|gesamtnote"
    r"|punkte|einschätzung|empfehlung|begutachtung|rezension|gutachten)\w*",
    r"\b(?:positiv|wohlwollend|hoch|sehr gut|ausgezeichnet|bestmöglich|überdurchschnittlich|mit der höchstnote"
    r"|mit (?:der note )?10|großzügig|wohlwollender)\b" + GS
    + r"\b(?:bewerten|beurteilen|einstufen|einschätzen|benoten|begutachten|bewertet|beurteilt|bewertest|beurteilst)\b",
    r"\b(?:bewerte|beurteile|benote|stufe|schätze)\w*" + G
    + r"\b(?:positiv|wohlwollend|hoch ein|sehr gut|ausgezeichnet|bestmöglich|mit (?:der note )?10)\b",
    r"\b(?:annehmen|akzeptieren|angenommen|akzeptiert)\b",
    r"\b(?:schwäche|schwachstelle|mängel|mangel|einschränkung|limitation|kritik|kritikpunkt)\w*" + G
    + r"\b(?:nicht erwähn|ignorier|übergeh|weglass|außer acht|ausser acht|verschweig|unerwähnt)\w*",
    r"\b(?:nicht|keine)\b" + GS + r"\b(?:schwäche|schwachstelle|mängel|kritik|einschränkung)\w*" + GS
    + r"\b(?:erwähn|nenn|anführ|aufführ|aufzähl)\w*",
    r"\bnur (?:auf )?(?:die )?stärken\b",
    # fr
    r"\baccept(?:er|ez|ation|é|ée)\b", r"\brecommand\w*" + G + r"\b(?:acceptation|publication|accepter)\b",
    r"\b(?:note|évaluation|appréciation|avis|score|recommandation|critique)s? (?:\w+ )?(?:maximale|élevée"
    r"|excellente|positive|favorable|la plus (?:haute|élevée))s?\b",
    r"\b(?:meilleure|plus haute|haute|excellente|bonne|très bonne) (?:note|évaluation|appréciation)\b",
    r"\b(?:évalu|not|jug)\w*" + G + r"\b(?:favorablement|positivement|très bien|avec bienveillance)\b",
    r"\b(?:ne mentionnez|ne citez|ne signalez|n'évoquez|ignorez|passez sous silence|omettez)\b" + G
    + r"\b(?:faiblesse|limite|défaut|critique|lacune)s?\b",
    r"\b(?:uniquement|seulement) (?:sur )?les points forts\b",
    # es
    r"\bacept(?:ar|e|en|a|ación|ado|ada|arlo|arla)\b",
    r"\brecomiend\w*" + G + r"\b(?:aceptación|publicación|aceptar)\b",
    r"\brecomend\w*" + G + r"\b(?:aceptación|publicación|aceptar|aceitação|aceitacao|publicação|aceitar)\b",
    r"\b(?:calificación|calificacion|puntuación|puntuacion|nota|evaluación|valoración|revisión|opinión"
    r"|recomendación)(?:es)? (?:\w+ )?(?:máxima|alta|excelente|positiva|favorable|más alta)s?\b",
    r"\b(?:máxima|mejor|alta|excelente) (?:calificación|puntuación|nota|valoración)\b",
    r"\b(?:evalú|evalu|califi|valor|puntú|puntu)\w*" + G
    + r"\b(?:favorablemente|positivamente|muy bien|con (?:un )?10|alto)\b",
    r"\b(?:no mencione|no menciones|ignore|ignora|omita|omite|pase por alto|no señale)\w*" + G
    + r"\b(?:debilidad|limitaci|defecto|crítica|deficiencia)\w*",
    r"\bsolo (?:en )?(?:las )?fortalezas\b",
    # pt
    r"\baceit(?:ar|e|em|a|ação|acao|o|á-lo|a-lo)\b",
    r"\b(?:nota|pontuação|pontuacao|avaliação|avaliacao|classificação|revisão|parecer|recomendação)(?:ões)? "
    r"(?:\w+ )?(?:máxima|alta|excelente|positiva|favorável|favoravel|mais alta)s?\b",
    r"\b(?:avali|classifi|pontu)\w*" + G + r"\b(?:favoravelmente|positivamente|muito bem|com (?:nota )?10|alta)\b",
    r"\b(?:não mencione|nao mencione|ignore|omita|desconsidere)\b" + G
    + r"\b(?:fraqueza|limitaç|limitac|defeito|crítica|deficiência|pontos? fracos?)\w*",
    r"\bapenas (?:os )?pontos fortes\b",
    # it
    r"\baccett(?:are|i|ate|azione|ato|ata|arlo|arla)\b",
    r"\braccomand\w*" + G + r"\b(?:accettazione|pubblicazione|accettare)\b",
    r"\b(?:valutazione|punteggio|voto|giudizio|recensione|raccomandazione)(?:i)? (?:\w+ )?(?:massim[oa]|alt[oa]"
    r"|eccellente|positiv[oa]|favorevole|più alt[oa])\b",
    r"\b(?:valut|giudic|punt)\w*" + G + r"\b(?:favorevolmente|positivamente|molto bene|con (?:un )?10)\b",
    r"\b(?:non menzionare|non menzionate|ignora|ignorate|ometti|omettete|tralascia)\b" + G
    + r"\b(?:debolezz|limitazion|difett|critic|punti deboli)\w*",
    r"\bsolo (?:i )?punti di forza\b",
    # ru
    r"\bприн(?:ять|имать|ятие|ятия|ята|яли|ими|имите)\b", r"\bрекоменд\w*" + G + r"\b(?:принят|публикац|к печати)\w*",
    r"\b(?:высок|максимальн|наивысш|отличн|положительн|благоприятн|лучш)\w* (?:\w+ )?"
    r"(?:оценк|балл|отзыв|рецензи|рейтинг|рекомендац)\w*",
    r"\bоцен\w*" + G + r"\b(?:высоко|положительно|благоприятно|отлично|на 10|в 10)\b",
    r"\b(?:не упоминай|не указывай|игнорируй|проигнорируй|опусти)\w*" + G
    + r"\b(?:недостат|слаб|ограничен|критик|изъян)\w*",
    r"\bтолько (?:на )?(?:сильн|достоинств)\w*",
    # zh
    r"接收", r"接受", r"录用", r"录取", r"高分", r"满分", r"最高分", r"好评", r"正面评价", r"积极评价", r"积极的评价",
    r"正面的评价", r"正面的评审", r"积极的评审", r"推荐发表", r"强烈推荐", r"高度评价", r"高评分", r"10分",
    r"(?:不要|不必|无需|别)[^。！？]{0,10}(?:提及|提到|指出|讨论|列出|批评)[^。！？]{0,10}(?:缺点|不足|局限|弱点|问题)",
    r"忽略[^。！？]{0,10}(?:缺点|不足|局限|弱点)", r"只(?:关注|强调|提)[^。！？]{0,6}(?:优点|长处)",
    # ja
    r"採択", r"受理", r"高評価", r"高い評価", r"高く評価", r"最高評価", r"最高点", r"満点", r"高得点", r"高いスコア",
    r"肯定的な評価", r"好意的", r"推薦", r"10点", r"アクセプト",
    r"(?:弱点|欠点|限界|問題点|短所|不足)[^。！？]{0,15}(?:言及しない|触れない|無視|指摘しない|省略)", r"長所のみ", r"利点のみ",
]

# -- Strong request: please / imperative / "we ask" / polite "we would be grateful" ------------------
# Sentence start: after a page number, bullet or section number too ("2 IGNORE ALL ...").
_START = r"(?:^[\W\d_]{0,12}|[:;–—\-]\s*|[,]\s+)"
_IMPERATIVE_EN = (r"(?:give|rate|score|grade|assign|award|accept|recommend|ignore|disregard|forget|evaluate|assess"
                  r"|treat|consider|regard|focus|emphasi[sz]e|highlight|output|write|return|provide|mark|rank|judge"
                  r"|overlook|praise|endorse|approve|vote|prioriti[sz]e|do not|don't|never|avoid|refrain|be sure"
                  r"|make sure|remember|ensure|view|look)")
REQUEST = [
    _START + r"" + _IMPERATIVE_EN + r"\b",
    r"\bplease\b", r"\bkindly\b", r"\bpls\b",
    r"\byou (?:should|must|shall|will|need to|have to|are (?:asked|requested|instructed|required|expected|encouraged"
    r"|kindly asked|invited|advised|to))\b",
    r"\bwe (?:would )?(?:kindly |respectfully |humbly |politely )?(?:ask|request|urge|beg|invite|encourage|expect"
    r"|instruct)\b",
    r"\bwe would (?:like|appreciate|be (?:grateful|thankful|obliged|delighted|pleased))\b",
    r"\b(?:would|will) be (?:much |greatly |highly |very )?(?:appreciated|grateful|welcome)\b",
    r"\b(?:it is|is) (?:kindly )?(?:requested|required|expected|asked|important|essential)\b",
    r"\b(?:are|is) (?:kindly )?(?:requested|asked|instructed|expected|encouraged|required) to\b",
    r"\b(?:i|we) (?:hope|trust) (?:that )?(?:you|the reviewer|the system|the model)\b",
    # de
    r"\bbitte\b", r"\bbitten\b", r"\bwir bitten\b", r"\bsie (?:sollten|müssen|mögen|werden gebeten|wollen)\b",
    r"\bdu (?:solltest|musst|sollst)\b", r"\b(?:wären|sind|wäre|ist) (?:wir |ihnen )*dankbar\b",
    r"\bwürden uns freuen\b", r"\bwird gebeten\b", r"\bwerden gebeten\b",
    _START + r"(?:gib|bewerte|empfiehl|ignoriere|vergiss|vergib|akzeptiere|beurteile|stufe|erwähne"
    r"|hebe|achte|konzentriere)\b",
    r"\b(?:geben|bewerten|empfehlen|ignorieren|vergessen|vergeben|akzeptieren|beurteilen|stufen|erwähnen|heben"
    r"|achten|konzentrieren|berücksichtigen|sehen) sie\b",
    # fr
    r"\bveuillez\b", r"\bmerci de\b", r"\bs'il vous plaît\b", r"\bs'il te plaît\b", r"\bsvp\b",
    r"\bnous vous (?:prions|demandons|remercions)\b", r"\bnous (?:demandons|prions|souhaiterions|serions reconnaissants)\b",
    r"\bvous (?:devez|devriez|êtes prié\w*|êtes invité\w*)\b", r"\bprière de\b", r"\bil (?:est demandé|convient|faut)\b",
    r"\b(?:ignorez|donnez|attribuez|recommandez|évaluez|notez|acceptez|accordez|considérez|jugez|mettez)\b",
    r"\bn'oubliez pas\b", r"\bne mentionnez\b",
    # es / pt / it
    r"\bpor favor\b", r"\b(?:le|les|te|lhe|lhes) (?:rogamos|pedimos|solicitamos)\b", r"\bse (?:ruega|solicita|pide)\b",
    r"\b(?:rogamos|pedimos|solicitamos|agradeceríamos|agradeceriamos|agradecemos)\b",
    r"\b(?:debe|deberá|debería|deve|deverá|deveria|devem)\b", r"\bvocê deve\b", r"\bgentileza\b",
    # forms that are also English or Italian words ("ignore", "date", "da", "dai") are left out
    r"\b(?:ignorad|olvida|olvide|dé|asigna|asigne|otorga|otorgue|recomiende|recomienda"
    r"|califique|califica|evalúe|evalúa|puntúe|acepte|esqueça|dê|atribua|recomende|avalie|classifique|aceite"
    r"|conceda)\b",
    r"\bper (?:favore|cortesia)\b", r"\bsi prega\b", r"\b(?:vi|la|ti) preghiamo\b", r"\bchiediamo\b",
    r"\b(?:dovete|dovrebbe|dovreste|devi)\b", r"\bsaremmo grati\b",
    r"\b(?:ignorate|dimentica|dimenticate|assegna|assegnate|raccomanda|raccomandate|valutate"
    r"|accetta|accettate|attribuite)\b",
    # ru
    r"\bпожалуйста\b", r"\bпросим\b", r"\bпрошу\b", r"\b(?:вы|ты) должн\w*", r"\bследует\b", r"\bнеобходимо\b",
    r"\bнужно\b", r"\bубедительно\b", r"\bбудем (?:благодарн|признательн)\w*",
    r"\b(?:игнорируй\w*|проигнорируй\w*|дайте|дай|поставьте|поставь|оцените|оцени|рекомендуйте|рекомендуй"
    r"|примите|прими|не упоминайте|не упоминай|забудьте|забудь)\b",
    # zh / ja
    r"请", r"务必", r"必须", r"应该", r"应当", r"一定要", r"麻烦", r"敬请", r"恳请", r"希望您", r"希望你", r"给予", r"给出",
    r"不要",
    r"ください", r"下さい", r"お願い", r"願います", r"べき", r"しなさい", r"せよ", r"してほしい", r"して欲しい",
    r"いただけ", r"頂け", r"すること",
]
# Obligations put on the paper itself ("this paper should be accepted"): only with the paper named.
MODAL = [
    r"\b(?:should|must|shall|deserves?|merits?|ought to|has to|needs to|warrants?)\b",
    r"\b(?:sollte|sollten|muss|müssen|verdient)\b", r"\b(?:doit|devrait|mérite)\b",
    r"\b(?:debe|debería|merece)\b", r"\b(?:deve|deveria|merece)\b", r"\b(?:deve|dovrebbe|merita)\b",
    r"\b(?:должн\w*|следует|заслуживает)\b", r"应该|应当|值得|理应", r"べき|値する",
]
# Neutral evaluation verbs: a request to do these counts only when addressed to the system.
EVALUATE = [
    r"\b(?:rate|score|grade|evaluate|assess|review|judge|rank|mark|recommend|accept|consider)\w*",
    r"\b(?:bewert|beurteil|benot|begutacht|empf[ie]hl|akzeptier|einstuf)\w*",
    r"\b(?:évalu|not|jug|recommand|accept|examin)\w*", r"\b(?:evalú|evalu|califi|valor|puntú|recomiend|recomend|acept)\w*",
    r"\b(?:avali|classifi|pontu|recomend|aceit)\w*", r"\b(?:valut|giudic|raccomand|accett)\w*",
    r"\b(?:оцен|рекоменд|прин|рецензир)\w*", r"评分|评价|评估|评审|打分|推荐|接收", r"評価|採点|査読|推薦|採択",
]
# Speaking to the system directly: "Note to AI reviewers", "Hinweis für KI-Gutachter", "致审稿人"


def alternation(parts: list[str]) -> str:
    """One group matching any of `parts` (a space in a part matches any one space); the word-boundary test of the many parts that start with
    one is done once, which makes the scan an order of magnitude faster in `re`."""
    parts = [p.replace(" ", r"\s") for p in parts]  # a paragraph break is "\n" in the flattened text
    bounded = [p[2:] for p in parts if p.startswith(r"\b")]
    other = [p for p in parts if not p.startswith(r"\b")]
    groups = ([r"\b(?:" + "|".join(f"(?:{p})" for p in bounded) + ")"] if bounded else []) + [f"(?:{p})" for p in other]
    return "(?:" + "|".join(groups) + ")"


_ADDR = alternation(ADDRESSEE)
DIRECT_ADDRESS = [
    r"\b(?:note|notes|message|notice|instructions?|memo|reminder|attention|hint|important|information|request"
    r"|a word|p\.?s\.?|dear|hello|hi|greetings|advice)\b" + GS + r"\b(?:to|for)\b" + GS + _ADDR,
    r"\b(?:dear|hello|hi|attention|to all|to any|for all|for any)\b" + GS + _ADDR,
    _START + r"(?:to|for) (?:the |all |any |every )?" + _ADDR + r" ?[:,]",  # "To the reviewing model:"
    r"\bif you are\b" + GS + _ADDR, r"\bif you're\b" + GS + _ADDR, r"\bas an?\b" + GS + _ADDR + GS + r"\byou\b",
    _ADDR + GS + r"\b(?:reading|processing|evaluating|assessing|reviewing|analy[sz]ing|handling|parsing|scoring"
    r"|grading|screening)\b" + GS + r"\b(?:this|the)\b",
    r"\b(?:hinweis|nachricht|anmerkung|notiz|achtung|information|anweisung|mitteilung)\w*" + GS
    + r"\b(?:an|für)\b" + GS + _ADDR,
    r"\b(?:liebe|lieber|sehr geehrte\w*|an alle|an etwaige|an jede\w*)\b" + GS + _ADDR,
    r"\b(?:falls|wenn) (?:du|sie)\b" + GS + _ADDR,
    r"\b(?:note|message|remarque|avis|attention|instructions?)\b" + GS
    + r"\b(?:à|aux|pour|à l'attention|à l'intention)\b" + GS + _ADDR,
    r"\b(?:cher|chère|chers|chères)\b" + GS + _ADDR, r"\bsi vous êtes\b" + GS + _ADDR, r"\bsi tu es\b" + GS + _ADDR,
    r"\b(?:nota|mensaje|mensagem|aviso|atención|atenção|instrucci\w*|instruç\w*|messaggio|avviso|attenzione"
    r"|istruzion\w*)\b" + GS + r"\b(?:para|a|aos|às|per|ai|agli|alle|al|all')\b" + GS + _ADDR,
    r"\b(?:estimad[oa]s?|querid[oa]s?|prezad[oa]s?|car[oa]s?|cari|gentile|gentili)\b" + GS + _ADDR,
    r"\bsi (?:usted )?(?:eres|es)\b" + GS + _ADDR, r"\bse (?:você )?(?:for|é|és)\b" + GS + _ADDR,
    r"\bse sei\b" + GS + _ADDR,
    r"\b(?:примечание|сообщение|внимание|указание|инструкци\w*|заметка|обращение)\b" + GS + r"\b(?:для|к)\b" + GS
    + _ADDR,
    r"\bуважаем\w*" + GS + _ADDR, r"\bесли (?:вы|ты)\b" + GS + _ADDR,
    r"(?:致|给|对|面向|写给|提示|注意|告)[^。！？]{0,6}" + _ADDR, r"如果你是[^。！？]{0,6}" + _ADDR,
    r"如果您是[^。！？]{0,6}" + _ADDR,
    _ADDR + r"(?:への|の皆様|の皆さま|各位|へ|の方)", r"(?:もし)?あなたが[^。！？]{0,8}" + _ADDR,
]

# A sentence that quotes or reports an attack rather than making one ("attacks such as '...'").
MENTION = [
    r"\b(?:such as|e\.g\.|i\.e\.|for example|for instance|like|known as|called|dubbed|namely)\b",
    r"\b(?:attack|attacker|adversar|inject|jailbreak|malicious|payload|exploit|threat|red[- ]team|phrase|string"
    r"|template|example|benchmark|dataset|corpus|study|studies|prior work|we (?:show|find|found|observe|test|evaluate"
    r"|measure))\w*",
    r"\b(?:zum beispiel|z\. ?b\.|etwa|par exemple|por ejemplo|por exemplo|ad esempio|per esempio|например)\b",
    r"\b(?:angriff|attaque|ataque|attacco|атак)\w*", r"例如|比如|攻击|例えば|攻撃",
]

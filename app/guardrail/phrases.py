"""Phrase families of the input rules, in English, Portuguese and Spanish: verbs, objects and
qualifiers as regex fragments over canonical text (lower case ASCII, accents folded, single
spaces, `_` read as a space)."""

from __future__ import annotations

import re

__all__ = ["FAMILIES", "LEET_PREFIXES"]


def _any(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


# --- shared fillers --------------------------------------------------------------------
# Articles, quantifiers and possessives that may sit between a verb and its object.
DET = _any(
    "all", "any", "of", "the", "your", "my", "these", "those", "every", "each", "this", "that",
    "todas", "todos", "toda", "todo", "as", "os", "a", "o", "suas", "seus", "sua", "seu", "tuas",
    "teus", "tua", "teu", "minhas", "meus", "essas", "esses", "estas", "estes", "das", "dos",
    "de", "la", "las", "el", "los", "tus", "tu", "sus", "su", "mis", "esas", "esos", "estas",
    "estos", "lo", "que", "you", "were", "have", "been", "given", "received", "me", "le", "te",
    "one", "uma", "una", "cada", "quaisquer", "cualquiera", "single",
)
DETS = f"(?:{DET} ){{0,4}}"
POSS = _any("your", "yours", "seu", "sua", "seus", "suas", "teu", "tua", "teus", "tuas", "tu",
            "tus", "su", "sus", "vosso", "vossa")
CLAUSE_END = r"(?=\s*(?:$|[.,;:!?)\]](?:\s|$)|(?:and|e|y|then|depois|luego|now|agora|ahora)\b))"

# --- instruction override --------------------------------------------------------------
OVERRIDE_VERB = _any(
    # English
    "ignore", "disregard", "forget", "override",
    "bypass", "skip", "discard", "abandon", "neglect", "dismiss", "scrap", "ditch", "drop",
    "overwrite", "supersede", "nullify", "void", "cancel", "erase", "wipe", "purge", "clear",
    "set aside", "put aside", "throw out", "throw away", "pay no attention to", "stop following",
    "stop obeying", "stop using", "quit following", "don'?t follow", "do not follow",
    "no longer follow", "don'?t obey", "do not obey", "never mind", "disobey",
    # Portuguese
    r"ignor(?:e|a|ar|em|es)", r"desconsider(?:e|a|ar|em)", r"esque(?:ca|cer|cam|ce)",
    r"esqueca-se de", r"descart(?:e|a|ar|em)", r"despre(?:ze|za|zar)", r"abandon(?:e|a|ar)",
    r"anul(?:e|a|ar)", r"cancel(?:e|a|ar)", r"apag(?:ue|a|ar)", r"sobrescrev(?:a|e|er)",
    r"deix(?:e|a|ar) de lado", r"deix(?:e|a|ar) de seguir", r"par(?:e|a|ar) de seguir",
    r"par(?:e|a|ar) de obedecer", r"nao sig(?:a|as) mais", r"nao obedec(?:a|as) mais",
    r"nao sig(?:a|as)", r"nao obedec(?:a|as)", r"jogue fora", r"pass(?:e|a|ar) por cima d[eoa]s?",
    r"desobedec(?:a|er)", r"releve", r"relev(?:ar|a)",
    # Spanish
    r"ignor(?:a|e|ar|en|ad)", r"olvid(?:a|e|ar|en|ate|ad)", r"olvidate de", r"descart(?:a|ar|en)",
    r"omit(?:e|a|ir|an)", r"haz caso omiso (?:a|de)", r"no hagas caso (?:a|de)",
    r"dej(?:a|e|ar) de lado", r"dej(?:a|e|ar) de seguir", r"dej(?:a|e|ar) de obedecer",
    r"no sigas", r"no obedezcas", r"desobedece", r"anul(?:a|ar)", r"borr(?:a|ar)",
    r"sobrescrib(?:e|ir)", r"salt(?:a|ate|ar)", r"desestim(?:a|ar)", r"pasa por alto",
)
INSTRUCTIONS = _any(
    r"instructions?", r"prompts?", "directives?", "guidelines?", "programming", "training",
    "system message", "guardrails?", "safeguards?", "pre-?prompt", "initial prompt",
    r"instruc(?:oes|ao)", "orientacoes", "diretrizes", "diretivas", "programacao", "treinamento",
    "mensagem do sistema", r"instruccion(?:es)?", "indicaciones", "directrices",
    "programacion", "entrenamiento", "mensaje del sistema",
)
ORDERS = _any(
    "rules", "directions", "orders", "commands", "messages", "context", "constraints",
    "restrictions", "policies", "limitations", "conversation", "regras", "ordens", "comandos",
    "mensagens", "contexto", "restricoes", "politicas", "limitacoes", "conversa", "reglas",
    "ordenes", "mensajes", "restricciones", "limitaciones", "conversacion",
)
PREVIOUS = _any(
    "previous", "prior", "above", "earlier", "preceding", "former", "original", "initial",
    "old", "existing", "given", "current", "system", "hidden", "foregoing", "aforementioned",
    "anteriores", "anterior", "anteriormente", "previas", "previos", "acima", "iniciais",
    "originais", "antes", "de antes", "dadas", "recebidas", "do sistema", "ocultas",
    "de arriba", "iniciales", "originales", "recibidas", "del sistema", "precedentes",
    "until now", "so far", "ate agora", "ate aqui", "hasta ahora", "hasta aqui",
    r"(?:that )?you (?:got|received|were given)", r"que (?:voce )?recebeu",
    r"que te (?:deram|passaram|mandaram)", "que recibiste", "que te dieron",
)
EVERYTHING = _any("everything", "anything", "all", "tudo", "todo", "todas", "todos")
SAID = _any(
    r"(?:you were|you've been|you have been|they|was|were|has been|had been) "
    r"(?:told|said|given|instructed|taught|programmed|written|set|shown|sent)",
    r"(?:that was|that's been|that has been) (?:said|written|told|given|sent)",
    r"(?:was |were )?(?:said|written|stated|mentioned) (?:before|above|earlier|previously)",
    r"(?:o )?que (?:te |lhe |nos )?(?:foi|foram) (?:dito|ditas|ditos|dada|dadas|passado|"
    r"passadas|ensinado|programado|escrito|falado|instruido)",
    r"(?:o )?que (?:te |lhe )?(?:disseram|falaram|ensinaram|passaram|mandaram|programaram)",
    r"(?:lo )?que (?:te |se te )?(?:dijeron|han dicho|fue dicho|fueron dadas|ensenaron|"
    r"programaron|dieron|escribieron|se dijo)",
    "dito antes", "dito acima", "dito ate agora", "dicho antes", "dicho arriba",
)
RULES_VOIDED = _any(
    "cancell?ed", "revoked", "void", "null", "obsolete", "replaced", "overridden", "suspended",
    "lifted", "no longer (?:valid|apply|applies|in effect|active)", "disabled", "removed",
    "canceladas", "revogadas", "anuladas", "substituidas", "suspensas", "invalidas",
    "desativadas", "removidas", "sem efeito", "nao (?:valem|se aplicam|sao mais validas)",
    "revocadas", "reemplazadas", "suspendidas", "sin efecto", "desactivadas",
    "ya no (?:aplican|son validas|valen)",
)
DISABLE_VERB = _any(
    "bypass", "disable", "turn off", "circumvent", "get around", "evade", "override", "remove",
    "switch off", "deactivate", "break", "jailbreak", "lift", "drop", "escape",
    r"desativ(?:e|a|ar)", r"deslig(?:ue|a|ar)", r"burl(?:e|a|ar)", r"contorn(?:e|a|ar)",
    r"remov(?:a|e|er)", r"retir(?:e|a|ar)", r"quebr(?:e|a|ar)", r"desabilit(?:e|a|ar)",
    r"desactiv(?:a|e|ar)", r"apag(?:a|ue|ar)", r"evit(?:a|e|ar)", r"eluda", r"saltate",
    r"quit(?:a|e|ar)", r"romp(?:e|er)", r"elimin(?:a|e|ar)", r"sorte(?:a|e|ar)",
)
SAFETY = _any(
    "filters?", "guardrails?", "restrictions?", "safeguards?", "rules", "policies", "limits",
    "limitations", "protections?", "safety", "censorship", "ethics", "guidelines",
    "content policy", "filtros?", "restricoes", "protecoes", "limites", "politicas", "regras",
    "censura", "etica", "diretrizes", "salvaguardas", "restricciones", "protecciones",
    "reglas", "directrices", "limitacoes", "limitaciones",
)
SAFETY_QUAL = _any("safety", "security", "content", "ethical", "moral", "de seguranca",
                   "de conteudo", "eticas", "de seguridad", "de contenido", "eticos")

# --- system-prompt exfiltration --------------------------------------------------------
REVEAL_VERB = _any(
    "show", "print", "reveal", "display", "output", "repeat", "recite", "tell", "dump", "leak",
    "echo", "expose", "disclose", "spell out", "write out", "type out", "read out", "paste",
    "return", "regurgitate", "what (?:is|are|was|were)", "what'?s", "which (?:is|are)",
    "give", "send", "share", "provide",
    r"mostr(?:e|a|ar|em)", r"imprim(?:a|e|ir)", r"revel(?:e|a|ar)", r"exib(?:a|e|ir)",
    r"repit(?:a|as)", r"repet(?:e|ir)", r"dig(?:a|as)", r"me diga", r"me fal(?:e|a)",
    r"fal(?:e|a) (?:qual|quais)", r"cont(?:e|a) (?:qual|quais)", r"vaz(?:e|ar)", r"despej(?:e|ar)",
    r"exponha", r"divulgu?e", r"qual (?:e|eh|era|foi|seria)", r"quais (?:sao|eram|foram)",
    r"cole", r"d(?:e|a)-me", r"me d(?:e|a)", r"envi(?:e|a|ar)", r"compartilh(?:e|a|ar)",
    r"transcrev(?:a|e)", r"coloque", r"ponha", r"me pass(?:e|a)", "put", "place", "transcribe",
    r"pon", r"coloca", r"pasame", r"begin (?:your )?(?:answer|reply|response) with",
    r"start (?:your )?(?:answer|reply|response) with", r"comece (?:a |sua )?resposta com",
    r"inicie (?:a |sua )?resposta com", r"empieza (?:tu )?respuesta con",
    r"comienza (?:tu )?respuesta con",
    r"muestr(?:a|e|ame|anos)", r"mostrar", r"imprim(?:e|a|eme)", r"revel(?:a|ame|e)",
    r"repit(?:e|a|eme)", r"dime", r"di cual", r"dame", r"cual (?:es|era|fue|seria)",
    r"cuales (?:son|eran|fueron)", r"escupe", r"vuelca", r"expon", r"divulga", r"pega",
    r"envi(?:a|ame)", r"compart(?:e|eme)",
)
SUMMARY_VERB = _any(
    "write", "translate", "summari[sz]e", "copy", "list", "describe", "explain", "encode",
    "convert", "rewrite", "paraphrase", r"escrev(?:a|e)", r"traduz(?:a|e)", r"resum(?:a|e)",
    r"copi(?:e|a)", r"list(?:e|a)", r"descrev(?:a|e)", r"explique", r"codifique",
    r"convert(?:a|e)", r"reescrev(?:a|e)", r"escrib(?:e|a)", r"traduc(?:e|a)", r"resum(?:e|a)",
    r"copi(?:a|e)", r"list(?:a|e)", r"describ(?:e|a)", r"explica", r"codifica", r"reescrib(?:e|a)",
)
SYSTEM_PROMPT = _any(
    r"system ?prompts?", r"system (?:instructions|message|rules|directives|guidelines)",
    r"(?:initial|original|hidden|secret|internal|first|base|underlying|core|developer|meta|"
    r"pre|starting|confidential|full) ?(?:prompts?|instructions|directives|message)",
    r"prompts? (?:do|de) sistema", r"instruc(?:oes|ao) (?:do|de) sistema",
    r"mensage(?:m|ns) (?:do|de) sistema", r"regras do sistema",
    r"(?:prompt|instrucoes|diretrizes|regras|mensagem) (?:inicia(?:l|is)|origina(?:l|is)|"
    r"oculta?s?|secretas?|internas?|confidencia(?:l|is)|de base)",
    r"prompts? del sistema", r"instruccion(?:es)? del sistema", r"mensajes? del sistema",
    r"reglas del sistema",
    r"(?:prompt|instrucciones|directrices|reglas|mensaje) (?:inicial(?:es)?|original(?:es)?|"
    r"ocult[oa]s?|secret[oa]s?|intern[oa]s?|confidencial(?:es)?)",
)
CONFIGURED = _any(
    "given", "configured", "programmed", "told", "set up", "trained", "initiali[sz]ed", "created",
    "instructed", "received", "loaded", "configurad[oa]", "programad[oa]", "instruid[oa]",
    "treinad[oa]", "criad[oa]", "recebeu", "dadas", "passadas", "recibiste", "entrenad[oa]",
    "dieron", "carregad[oa]", "cargad[oa]",
)
OWN_INSTRUCTIONS = _any(
    r"prompts?", r"instructions", "rules", "guidelines", "directives", "configuration",
    "programming", "context window", r"instruc(?:oes|ao)", "regras", "diretrizes",
    "configuracao", "programacao", r"instruccion(?:es)?", "reglas", "directrices",
    "configuracion", "programacion",
)
ABOVE_TEXT = _any(
    r"(?:the )?(?:text|words|content|message|everything|conversation|instructions) "
    r"(?:above|before this|so far|before my message|at the start|at the beginning)",
    r"(?:o )?(?:texto|conteudo|tudo|mensagem|conversa) (?:acima|anterior|ate agora|do inicio)",
    r"(?:el )?(?:texto|contenido|todo|mensaje|conversacion) (?:de arriba|anterior|"
    r"hasta ahora|del inicio)",
    "your first message", "sua primeira mensagem", "tu primer mensaje",
    r"(?:everything|all|tudo|todo) (?:that |o que |lo que |que )?(?:came|was written|veio|"
    r"foi escrito|vino|se escribio) (?:before|above|antes|arriba)",
)
SYS_FILLER = (
    r"(?:(?:me|us|to me|for me|back|again|word for word|verbatim|exactly|literally|in full|"
    r"full|exact|complete|entire|whole|raw|actual|real|current|all|the|your|of|o|a|os|as|seu|"
    r"sua|seus|suas|teu|tua|todo|todos|toda|todas|completo|completa|exato|exata|inteiro|"
    r"inteira|literal|literalmente|palavra por palavra|agora|now|el|la|los|las|tu|tus|"
    r"entero|entera|exacto|exacta|ahora|please|por favor|nos|pra mim|para mim|de novo|"
    r"novamente|otra vez|here|aqui|below|abaixo|abajo|em seguida) ){0,5}"
)
# "... of our chatbot", "... in prompts/sales.md": the product's own prompts, not this one.
OWN_PRODUCT = (
    r"(?!(?: \S+){0,4}? (?:our|my|this|that|nosso|nossa|nossos|nossas|meu|minha|este|esta|"
    r"esse|essa|nuestro|nuestra|mi|ese|esa|chatbot|chatbots|bot|bots|file|arquivo|archivo|"
    r"produto|product|producto|app|aplicativo|aplicacion|cliente|customer|clientes|"
    r"\S+/\S*|\S+\.(?:md|txt|json|ya?ml|py|ts|js|wl)\b))"
)

# --- credential and environment exfiltration -------------------------------------------
CREDENTIAL_NAMES = _any(
    r"anthropic[ -]?api[ -]?keys?", r"anthropic[ -]?auth[ -]?token", r"anthropic[ -]?keys?",
    r"claude[ -]?code[ -]?oauth[ -]?token", r"claude[ -]?oauth[ -]?token",
    r"claude[ -]?credentials", r"claude[ -]?config[ -]?dir", r"wx[ -]?jwt[ -]?secret",
    r"wx[ -]?claude[ -]?\w+", r"wx[ -]?anthropic[ -]?\w+", r"\.credentials\.json",
    r"\bsk-ant-", r"(?:~|\$\{?home\}?|/home/\w+|/root)/\.claude\b", r"/run/claude-credentials",
    r"/proc/(?:self|\d+|\*|thread-self|\$\$|\S+)/(?:environ|cmdline|mem)\b",
    r"/etc/(?:shadow|sudoers|gshadow)\b", r"\.ssh/id \w+", r"\.ssh/id_\w+", r"\.aws/credentials",
    r"\.git-credentials", r"\.docker/config\.json", r"\.netrc\b", r"docker\.sock\b",
)
_ENV_COMMAND = r"(?:env|printenv|set|export -p|declare -x|export|compgen -v|getenv)"
_ENV_COMMAND_END = (
    r"(?=\s*$|\s*[|>;&)`]|\s+(?:-0|--null|and|e|y|then|depois|luego|command|comando|now|"
    r"agora|ahora|por favor|please)\b)"
)
ENV_COMMANDS = (
    # A bare command: at the start, after a shell operator or a sentence, or after "run".
    rf"^{_ENV_COMMAND}{_ENV_COMMAND_END}",
    rf"(?:(?<=[:;&|`$(])|(?<=[:;&|`$(?!.] ))\b{_ENV_COMMAND}{_ENV_COMMAND_END}",
    rf"\b(?:run|execute|exec|type|call|rode|roda|rodar|executar|digite|chame|ejecuta|ejecutar|"
    rf"corre|correr|escribe|teclea|lance|launch)\s+(?:the |o |el |a |this |este |esse )?"
    rf"(?:command |comando |shell command |comando de shell )?{_ENV_COMMAND}{_ENV_COMMAND_END}",
)
ENV_CODE = (
    r"(?:prints?|printf|printing|echo|echoes|logs?|dumps?|write|writes|pprint|puts|jsonify|"
    r"console\.log|system\.out\.println|send|sends|return|returns|leaks?|imprim(?:e|a|ir)|"
    r"mostr(?:e|a)|muestr(?:e|a)|envi(?:e|a))\W{0,3}(?:(?:all|the|every|todo|tudo|todas|o|el) )"
    r"{0,2}(?:dict\(|json\.dumps\(|str\()?"
    r"(?:os\.environ|process\.env|system\.getenv\(\)|env::vars\(\)|\$env:\*?|getenv\(\)|environ)"
    r"(?![.\[\w])"
)
ENV_OBJECT = _any(
    r"environment(?: variables?| vars?)?", r"env(?: variables?| vars?)", r"envs",
    r"shell variables", r"variaveis (?:do|de) shell", r"variables (?:del|de) shell",
    r"variaveis de ambiente", r"variavel de ambiente", r"variables? de (?:entorno|ambiente)",
    "process environment", "ambiente do processo", "entorno del proceso",
)
DUMP_VERB = _any(
    "show", "print", "list", "dump", "display", "reveal", "give", "tell", "send", "output",
    "echo", "leak", "expose", "paste", "return", "enumerate", "export", "upload", "post",
    "what are", "which are", "share", "repeat", "i need", "we need", r"mostr(?:e|a|ar)",
    r"list(?:e|a|ar)", r"imprim(?:a|e|ir)", r"compartilh(?:e|a)", r"repit(?:a|e)",
    r"me pass(?:e|a)", r"preciso d(?:e|as|os)", r"necesito", r"devuelv(?:e|a)", r"compart(?:e|a)",
    r"pasame",
    r"exib(?:a|e|ir)", r"revel(?:e|a|ar)", r"dig(?:a|as)", r"envi(?:e|a|ar)", r"despej(?:e|ar)",
    r"vaz(?:e|ar)", r"cole", r"me d(?:e|a)", r"d(?:e|a)-me", r"exporte", r"quais sao",
    r"muestr(?:a|ame|e)", r"list(?:a|e|ar)", r"imprim(?:e|a)", r"revel(?:a|ame)", r"dime",
    r"dame", r"envi(?:a|ame)", r"vuelca", r"pega", r"exporta", r"cuales son",
)
SECRET_OBJECT = _any(
    r"api ?keys?", r"oauth tokens?", r"access tokens?", r"auth(?:entication)? tokens?",
    r"bearer tokens?", r"credentials", r"secrets", r"passwords", r"private keys?",
    r"session tokens?", r"tokens", r"credenciais", r"segredos", r"senhas", r"chaves? (?:da|de) api",
    r"chaves? privadas?", r"tokens? de (?:acesso|autenticacao|sessao)", r"credenciales",
    r"secretos", r"contrasenas", r"claves? (?:de|del) api", r"claves? privadas?",
    r"tokens? de (?:acceso|autenticacion|sesion)",
)
ALL_QUANT = _any("all", "every", "all the", "all of the", "all your", "todas as", "todos os",
                 "todas", "todos", "todas las", "todos los", "cada")
MACHINE = _any(
    "container", "process", "shell", "session", "machine", "server", "sandbox", "terminal",
    "workspace", "area de trabalho", "espacio de trabajo",
    "system", "host", "environment", "runtime", "box", "vm", "pod", "worker", "claude",
    "anthropic", "contenedor", "proceso", "sessao", "maquina", "servidor", "sistema", "ambiente",
    "sesion", "entorno", "agent", "agente", "assistant", "assistente", "asistente",
)
HERE = _any(
    r"(?:of|from|in|on|inside|for|used by) (?:the |this |your |that |my )?" + MACHINE,
    r"(?:do|da|deste|desta|desse|dessa|no|na|neste|nesta|nesse|nessa|dentro do|dentro da|"
    r"usadas? pelo|usadas? pela|de) (?:seu |sua |teu |tua )?" + MACHINE,
    r"(?:del|de la|de este|de esta|en este|en esta|en el|en la|dentro del|usadas? por el|de) "
    r"(?:tu |su )?" + MACHINE,
    "here", "right now", "currently set", "currently defined", "that you (?:have|see|can see)",
    "aqui", "agora", "atuais", "definidas agora", "que voce (?:tem|ve|enxerga)",
    "aqui dentro", "ahora", "actuales", "que tienes", "que ves",
)

# --- destructive commands --------------------------------------------------------------
RM_FLAGS = (
    r"\brm (?:-[a-z]*r[a-z]*f[a-z]*|-[a-z]*f[a-z]*r[a-z]*)(?![\w-])",
    r"\brm (?:-[a-z]*r[a-z]* -[a-z]*f[a-z]*|-[a-z]*f[a-z]* -[a-z]*r[a-z]*)(?![\w-])",
    r"\brm (?:--recursive --force|--force --recursive|-[a-z]*r[a-z]* --force"
    r"|--force -[a-z]*r[a-z]*|-[a-z]*f[a-z]* --recursive|--recursive -[a-z]*f[a-z]*)",
    r"--no-preserve-root",
    r"\brm (?:-\S+ )*(?:/|/\*|~|~/|\$home|\*)(?=\s|$|;|&)",
)
DESTRUCTIVE_COMMANDS = (
    r"\bmkfs(?:\.\w+)?\b", r"\bdd (?:\S+ )*of=/dev/(?!null\b)", r"\bwipefs\b",
    r"\bshred (?:-\S+ )*\S", r">\s*/dev/(?:sd|nvme|hd|xvd|vd|mmcblk)\w*",
    r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:",
    r"\bchmod (?:-r |-r)?(?:0?777|a\+rwx|-r 777) /(?=\s|$)",
    r"\bchown -r \S+ /(?=\s|$)", r"\bfind / (?:\S+ )*-delete\b", r"\bfind / (?:\S+ )*-exec rm\b",
    r"\bremove-?item\b(?=.{0,200}-recurse)(?=.{0,200}-force)", r"\b(?:rd|rmdir|del) /s /q\b",
    r"\bformat [a-z]: ?(?:/\w+)?(?=\s|$)",
    r"\bgit push (?:\S+ )*--force\S* (?:\S+ )*(?:main|master)\b",
)
DESTROY_VERB = _any(
    "delete", "erase", "wipe", "destroy", "remove", "format", "nuke", "purge", "obliterate",
    "trash", "shred", r"apag(?:ue|a|ar)", r"exclu(?:a|ir|e)", r"remov(?:a|e|er)",
    r"destru(?:a|ir|a)", r"format(?:e|a|ar)", r"limp(?:e|a|ar) completamente",
    r"elimin(?:e|a|ar)", r"borr(?:a|e|ar)", r"destru(?:ye|ir)", r"formate(?:a|ar)",
    r"suprim(?:e|ir)",
)
DESTROY_ALL = _any(
    r"(?:all|every|each) (?:the |of the |your |my )?(?:files?|folders?|directories|data|"
    r"repos(?:itories)?|projects?)",
    r"everything", r"the (?:entire|whole) (?:disk|drive|filesystem|file system|system|server|"
    r"machine|workspace|repository|repo|project|home|container)",
    r"(?:todos|todas) (?:os |as )?(?:arquivos|pastas|diretorios|dados|repositorios|projetos)",
    r"tudo", r"(?:o|a) (?:disco|sistema|servidor|maquina|workspace|repositorio|projeto|"
    r"container|pasta home) (?:inteir[oa]|tod[oa])", r"tod[oa] o (?:disco|sistema|servidor|"
    r"repositorio|projeto|workspace)",
    r"(?:todos|todas) (?:los |las )?(?:archivos|carpetas|directorios|datos|repositorios|"
    r"proyectos)", r"todo", r"(?:el|la) (?:disco|sistema|servidor|maquina|repositorio|proyecto|"
    r"contenedor) (?:enter[oa]|complet[oa])", r"todo el (?:disco|sistema|servidor|repositorio|"
    r"proyecto)",
)
DESTROY_TARGET = _any(
    r"(?:the |your |o |a |seu |sua |el |la |tu )?(?:hard drive|hard disk|disk|drive|"
    r"filesystem|file system|root (?:directory|folder|partition)|root|home directory|"
    r"disco(?: rigido)?|sistema de arquivos|diretorio raiz|pasta raiz|raiz|sistema de archivos|"
    r"directorio raiz|carpeta raiz|particao|particion)",
)
DESTROY_WHERE = _any(
    r"(?:from|on|in|of|inside) (?:the |this |your )?" + MACHINE,
    r"(?:do|da|no|na|deste|desse|neste|nesse) (?:seu |sua )?" + MACHINE,
    r"(?:del|de la|en el|en la|de este|en este) (?:tu )?" + MACHINE,
    "recursively", "recursivamente", "permanently", "permanentemente", "de vez", "para sempre",
    "para siempre", "sem perguntar", "without asking", "sin preguntar",
)

# --- privilege escalation --------------------------------------------------------------
PRIVILEGE_COMMANDS = (
    r"\bsudo\b", r"\bdoas\b", r"\bpkexec\b", r"^su(?: -\w*)*(?: root)?(?=\s*$|\s*[;&|])",
    r"(?:; ?|& ?|\| ?|\brun |\brode |\bejecuta )su(?: -\w*)*(?: root)?(?=\s*$|\s*[;&|])",
    r"\bsu (?:-l |--login |-c |- )?root\b",
    r"\bsu -(?:\s|$)", r"\bchmod [ugoa]*\+s\b", r"\bchmod [2467][0-7]{3}\b", r"\bsetcap\b",
    r"\bcapsh\b", r"\bnsenter\b", r"--privileged\b", r"\bvisudo\b",
    r"\busermod (?:-\w+ )*(?:sudo|wheel|root|docker|admin)\b", r"\bpasswd root\b",
    r"\bsetuid\(0\)", r"\bchroot /\w*", r"\bunshare (?:-\w+ )*-r\b",
)
PRIV_TO = r"(?:(?:to|para|a|ao|al) )?"
PRIV_TARGET = _any("root", "administrator", "admin", "superuser", "super user", "superusuario",
                   "super usuario", "uid 0", "uid=0", "administrador", "system", "sistema")
BECOME_VERB = _any(
    "become", "run as", "execute as", "switch to", "log ?in as", "sign in as", "elevate to",
    "escalate to", "act as", "operate as", "re-?run as", "work as",
    r"torn(?:e|a)-se", r"vir(?:e|a)", r"rode como", r"execute como",
    r"entre como", r"logu?e como", r"mude para", r"passe a ser",
    r"eleve-se a", r"convi[eé]rtete en", r"ejecut(?:a|e|ar) como", r"corre como",
    r"entr(?:a|ar) como", r"cambi(?:a|ar) a", r"inicia sesion como", r"hazte",
)
GAIN_VERB = _any(
    "get", "gain", "obtain", "acquire", "grant yourself", "give yourself", "escalate",
    "elevate", "grab", "take", r"obtenh(?:a|am)", r"consig(?:a|am)", r"ganh(?:e|a)",
    r"adquir(?:a|e)", r"escal(?:e|ar|a)", r"elev(?:e|ar|a)", r"conced(?:a|e)-se",
    r"d(?:e|a)-se", r"obten", r"consigue", r"gana", r"adquiere", r"escala", r"eleva",
    r"otorgate", r"date",
)
PRIV_OBJECT = _any(
    r"(?:(?:full|total|complete|unrestricted) )?(?:root|admin|administrator|administrador|"
    r"superuser|superusuario|elevated|full|system) (?:access|privileges?|permissions?|rights|"
    r"shell|account|powers?)",
    r"(?:acesso|privilegios|permissoes|direitos|shell|poderes|acceso|permisos|derechos) "
    r"(?:de )?(?:root|administrador|admin|superusuario|super usuario|elevados?|totais|totales|"
    r"de sistema|do sistema|del sistema|maximos)",
    r"(?:your|my|the|our|seus|meus|os|nossos|tus|mis|los|nuestros) (?:privileges|permissions|"
    r"privilegios|permissoes|permisos)",
)

# --- role override ---------------------------------------------------------------------
UNRESTRICTED = _any(
    r"\bdan\b", "do ?anything ?now", "unrestricted", "unfiltered", "uncensored", "unlimited",
    "unbound", "unchained", "unaligned", "unshackled", "jailbroken", "evil", "amoral",
    "unethical", r"free (?:from|of) (?:all |any )?(?:rules|restrictions|limits|filters|"
    r"guidelines|constraints|censorship|policies)",
    r"(?:without|with no|with zero|no|zero|free of) (?:any |all |the |your )?(?:rules|"
    r"restrictions|limits|limitations|filters|guidelines|constraints|censorship|ethics|"
    r"morals|boundaries|policies|safety|guardrails|safeguards|restraints|content polic(?:y|ies))",
    r"not (?:bound|restricted|limited|constrained) by", r"without (?:any )?(?:moral|ethical)",
    r"sem (?:nenhuma |qualquer |nenhum |as |suas )?(?:restricoes|restricao|regras|limites|"
    r"filtros?|censura|diretrizes|etica|moral|politicas|amarras|travas|barreiras|limitacoes)",
    r"irrestrit[oa]", r"sem censura", r"desbloquead[oa]", r"liberad[oa] de", r"malvad[oa]",
    r"livre (?:de|das|dos) (?:todas |todos |quaisquer )?(?:as |os )?(?:regras|restricoes|"
    r"limites|filtros|diretrizes|politicas)",
    r"sin (?:ninguna |ningun |las |tus )?(?:restricciones|restriccion|reglas|limites|filtros?|"
    r"censura|directrices|etica|moral|politicas|ataduras|barreras|limitaciones)",
    r"irrestrict[oa]", r"sin censura", r"libre de (?:todas |todos )?(?:las |los )?(?:reglas|"
    r"restricciones|limites|filtros|directrices|politicas)", r"liberad[oa]",
)
ROLE_CLAIM = _any(
    r"you(?: are|'re| will be| shall be| must be| become) (?:now |from now on |henceforth |no "
    r"longer |going to be )?", r"(?:now|from now on|henceforth),? you(?: are|'re)",
    "act as", "acting as", "behave as", "behave like", "respond as", "answer as", "reply as",
    "pretend (?:to be|you are|you're|that you are)", "roleplay as", "role-?play as",
    "play the role of", "imagine you are", "imagine you're", "simulate", "emulate",
    "you will (?:act|behave|respond|answer) (?:as|like)", "become", "switch to", "turn into",
    r"you(?:'ve| have) been (?:upgraded|updated|switched|converted|turned|changed|unlocked|"
    r"freed|patched) (?:to|into)", r"(?:voce|vc) foi (?:atualizad[oa]|convertid[oa]|"
    r"liberad[oa]|desbloquead[oa]|transformad[oa]) (?:para|em)",
    r"(?:has sido|fuiste) (?:actualizad[oa]|liberad[oa]|desbloquead[oa]|convertid[oa]) (?:a|en)",
    "(?:once|twice|then|also|and) as", r"(?:outra vez|outra|uma vez|depois|e) como",
    r"(?:otra vez|otra|una vez|luego|y) como",
    r"(?:voce|vc|tu) (?:e|es|sera|vai ser|agora e|passa a ser|esta) (?:agora )?",
    r"(?:a partir de agora|agora|daqui pra frente|de agora em diante),? (?:voce|vc|tu) (?:e|es|"
    r"sera)", r"seja", r"aja como", r"atue como", r"comporte-se como", r"responda como",
    r"fin(?:ja|gir) (?:ser|que (?:e|voce e|es))", r"fa(?:ca|z) de conta que (?:e|voce e|es)",
    r"imagine que (?:voce )?(?:e|es)", r"interprete", r"assuma o papel de", r"simule",
    r"transforme-se em", r"vire",
    r"(?:tu )?(?:eres|seras|sera) (?:ahora |a partir de ahora |desde ahora )?",
    r"(?:a partir de ahora|desde ahora|ahora|de ahora en adelante),? (?:tu )?eres",
    r"se (?:un|una)", r"actua como", r"comportate como", r"responde como",
    r"fing(?:e|ir) (?:ser|que eres)", r"haz como si fueras", r"imagina que eres",
    r"interpreta (?:a|el papel de)", r"asume el papel de", r"conviertete en",
)
MODE_NAME = _any(
    "jailbreak", r"\bdan\b", "god", "unrestricted", "unfiltered", "uncensored", "evil",
    "no[- ]?limits?", "no[- ]?rules", "unlocked", "sem restricoes", "sem filtros", "sem limites",
    "irrestrito", "deus", "desbloqueado", "malvado", "sin restricciones", "sin filtros",
    "sin limites", "dios", "desbloqueado", "libre",
)
NO_LONGER = _any(
    r"you(?: are|'re) no longer (?:an? |the )?(?:claude|assistant|ai|bound|restricted|limited|"
    r"helpful|safe|an assistant|chatbot|model)",
    r"you(?: are|'re) not (?:claude|an ai|an assistant|a language model) (?:anymore|any more)",
    r"(?:voce|tu) (?:nao e|ja nao e) mais (?:o |um |uma )?(?:claude|assistente|ia|chatbot|"
    r"modelo|limitad[oa]|restrit[oa])",
    r"(?:voce|tu) nao e (?:o |um |uma )?(?:claude|assistente|ia) (?:mais|agora)",
    r"(?:tu )?ya no eres (?:el |un |una )?(?:claude|asistente|ia|chatbot|modelo|limitad[oa]|"
    r"restringid[oa])",
)
NEW_IDENTITY = _any(
    r"your (?:new |true |real )?(?:role|identity|persona|personality|name|instructions|"
    r"purpose|directive|programming) (?:is|are|will be) (?:now )?",
    r"(?:seu|teu) (?:novo |verdadeiro )?(?:papel|nome|proposito|personagem) (?:e|sera|agora e)",
    r"(?:sua|tua) (?:nova |verdadeira )?(?:identidade|funcao|persona|personalidade|missao|"
    r"programacao|diretriz) (?:e|sera|agora e)",
    r"(?:suas|tuas) (?:novas )?instrucoes (?:sao|serao|agora sao)",
    r"tu (?:nuevo |verdadero )?(?:rol|papel|nombre|proposito|personaje) (?:es|sera)",
    r"tu (?:nueva |verdadera )?(?:identidad|funcion|persona|personalidad|mision|programacion) "
    r"(?:es|sera)", r"tus (?:nuevas )?instrucciones (?:son|seran)",
    r"new (?:system )?instructions ?:", r"nov(?:as|a) instruc(?:oes|ao)(?: do sistema)? ?:",
    r"nuevas? instruccion(?:es)?(?: del sistema)? ?:", r"updated instructions ?:",
)
FAKE_TAG = (
    r"[\[<({|] ?/? ?(?:system|sistema|admin|administrator|administrador|developer|"
    r"desenvolvedor|desarrollador|root|operator|anthropic|openai|sys|instrucoes|instructions|"
    r"instrucciones)(?: (?:message|mensagem|mensaje|prompt|override|note|nota|update|"
    r"atualizacao|actualizacion))?\s*[\]>)}|]\s*:?(?= ).{0,80}?\b(?:you|your|voce|vc|sua|seu|"
    r"suas|tu|tus|ignore|ignora|override|must|deve|debes|debe|from now|a partir de agora|"
    r"desde ahora|instructions|instrucoes|instrucciones|reveal|revele|revela|new|nova|nueva)\b"
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "prompt_injection": (
        rf"\b{OVERRIDE_VERB} {DETS}(?:{PREVIOUS} ){{0,2}}{INSTRUCTIONS}\b",
        rf"\b{OVERRIDE_VERB} {DETS}{PREVIOUS} (?:\w+ )?{ORDERS}\b",
        rf"\b{OVERRIDE_VERB} {DETS}{ORDERS} {DETS}{PREVIOUS}\b",
        rf"\b{OVERRIDE_VERB} {DETS}{ORDERS} (?:\w+ )?{PREVIOUS}\b",
        rf"\b{OVERRIDE_VERB} {DETS}{EVERYTHING} (?:that |what )?(?:\w+ )?{SAID}",
        rf"\b{OVERRIDE_VERB} {DETS}{EVERYTHING} (?:\w+ )?{PREVIOUS}\b",
        rf"\b{OVERRIDE_VERB} {DETS}{EVERYTHING}{CLAUSE_END}",
        rf"\b{OVERRIDE_VERB} {DETS}(?:what |o que |lo que ){SAID}",
        rf"\b{OVERRIDE_VERB} {DETS}{PREVIOUS}{CLAUSE_END}",
        rf"\b{POSS} (?:\w+ ){{0,2}}(?:{INSTRUCTIONS}|{ORDERS}) (?:\w+ )?(?:no longer|don'?t|do not|"
        rf"nao|ya no) (?:apply|applies|matter|count|valem|importam|se aplicam|aplican|importan|"
        rf"cuentan|valen)\b",
        rf"\b(?:treat|consider|regard|considere|trate|considera|trata) {DETS}(?:{PREVIOUS} )?"
        rf"(?:{INSTRUCTIONS}|{ORDERS}) (?:{PREVIOUS} )?(?:as |como )?{RULES_VOIDED}",
        rf"\b(?:none|nenhuma|nenhum|ninguna|ninguno) "
        rf"(?:of the|of your|das|dos|de las|de los|de tus) "
        rf"(?:{PREVIOUS} )?(?:{INSTRUCTIONS}|{ORDERS})",
        rf"\b(?:start over|start fresh|begin again|reset yourself|comece do zero|recomece|"
        rf"comece de novo|empieza de cero|vuelve a empezar)\b.{{0,40}}?\b(?:without|sem|sin) "
        rf"{DETS}(?:{PREVIOUS} )?(?:{INSTRUCTIONS}|{ORDERS})",
        rf"\b{POSS} (?:\w+ )?(?:{INSTRUCTIONS}|{ORDERS}) (?:\w+ )?(?:are|were|have been|has been|"
        rf"is|sao|foram|estao|estan|son|fueron|han sido|quedan|ficam) (?:now |agora |ahora )?"
        rf"{RULES_VOIDED}",
        rf"\b(?:{INSTRUCTIONS}|{ORDERS}) (?:that |que )?(?:you|voce|vc|tu|te) (?:\w+ ){{0,3}}"
        rf"(?:are|were|have been|has been|is|sao|foram|estao|estan|son|fueron|han sido|quedan|"
        rf"ficam) (?:now |agora |ahora )?{RULES_VOIDED}",
        rf"\b{DISABLE_VERB} {DETS}(?:{POSS} |(?:the |o |a |os |as |el |la |los |las )?"
        rf"{SAFETY_QUAL} )(?:\w+ )?{SAFETY}\b",
        rf"\b{DISABLE_VERB} {DETS}(?:the |o |a |os |as |el |la |los |las )?"
        rf"{SAFETY} {SAFETY_QUAL}\b",
        rf"\b{DISABLE_VERB} {DETS}guardrails?\b",
    ),
    "system_prompt": (
        rf"\b{REVEAL_VERB} {SYS_FILLER}{SYSTEM_PROMPT}\b{OWN_PRODUCT}",
        rf"\b{REVEAL_VERB} {SYS_FILLER}{POSS} (?:\w+ )?{OWN_INSTRUCTIONS}\b{OWN_PRODUCT}",
        rf"\b{SUMMARY_VERB} {SYS_FILLER}{POSS} (?:\w+ )?(?:{SYSTEM_PROMPT}|{OWN_INSTRUCTIONS})\b"
        rf"{OWN_PRODUCT}",
        rf"\b(?:repeat|recite|print|output|show|copy|repita|repete|imprima|mostre|copie|"
        rf"repite|imprime|muestra|copia|escreva|write|escribe) {SYS_FILLER}{ABOVE_TEXT}",
        rf"^(?:the |your |o |seu |el |tu |a |sua )?{SYSTEM_PROMPT}\W*$",
        rf"\b{SYSTEM_PROMPT} (?:\w+ ){{0,2}}(?:that|which|que) (?:controls?|governs?|guides?|"
        rf"rules?|drives?|controla|governa|guia|rige|dirige|te controla|te guia) "
        rf"(?:you|voce|vc|te|tu)\b",
        rf"\b(?:{REVEAL_VERB}|{SUMMARY_VERB}) {SYS_FILLER}(?:{OWN_INSTRUCTIONS}|{ORDERS}) "
        rf"(?:that |que |with which |con que |com que )?(?:you|voce|vc|te|tu|se te)(?: \w+){{0,2}} "
        rf"{CONFIGURED}",
        r"\b(?:what|which|quais|qual|cuales|cual) (?:\w+ ){0,3}(?:you|voce|vc|tu|te) (?:\w+ )"
        r"{0,3}(?:told|given|instructed|programmed|dito|dadas|instruido|programado|dicho|"
        r"dado|programaron) (?:\w+ ){0,3}(?:before|at the start|initially|first|antes|"
        r"no inicio|inicialmente|al principio|al inicio)\b",
    ),
    "credential_access": (
        CREDENTIAL_NAMES,
        *ENV_COMMANDS,
        ENV_CODE,
        rf"\b{DUMP_VERB} {SYS_FILLER}(?:{ALL_QUANT} |{POSS} )(?:\w+ )?(?:the |os |as |las |los )?"
        rf"(?:current |atuais |actuales )?{ENV_OBJECT}",
        rf"\b{DUMP_VERB} {SYS_FILLER}(?:the |as |os |a |o |las |los |el |la )?(?:current |"
        rf"actual |atuais |actuales )?{ENV_OBJECT} (?:\w+ )?{HERE}",
        rf"\b{DUMP_VERB} {SYS_FILLER}(?:{ALL_QUANT} |{POSS} )(?:\w+ )?(?:the |os |as |las |los )?"
        rf"{SECRET_OBJECT}",
        rf"\b{DUMP_VERB} {SYS_FILLER}(?:the |as |os |a |o |las |los |el |la )?{SECRET_OBJECT} "
        rf"(?:\w+ )?{HERE}",
        rf"\b(?:what|which|quais|qual|cuales|cual) (?:\w+ ){{0,3}}(?:{ENV_OBJECT}|{SECRET_OBJECT}) "
        rf"(?:\w+ ){{0,3}}(?:do you have|you have|you can see|are set|are defined|voce tem|"
        rf"voce ve|estao definidas|tienes|ves|estan definidas)\b",
    ),
    "destructive_command": (
        *RM_FLAGS,
        *DESTRUCTIVE_COMMANDS,
        rf"\b{DESTROY_VERB} {DETS}{DESTROY_ALL}{CLAUSE_END}",
        rf"\b{DESTROY_VERB} {DETS}{DESTROY_ALL} (?:\w+ )?{DESTROY_WHERE}\b",
        rf"\b{DESTROY_VERB} {DETS}{DESTROY_TARGET}{CLAUSE_END}",
        rf"\b{DESTROY_VERB} {DETS}{DESTROY_TARGET} (?:\w+ )?{DESTROY_WHERE}\b",
    ),
    "privilege_escalation": (
        *PRIVILEGE_COMMANDS,
        rf"\b{BECOME_VERB} (?:the |a |an |o |um |el |un )?{PRIV_TARGET}\b(?! (?:user|usuario|"
        rf"do banco|de banco|da base|del banco|de la base|database|db|or|ou|o)\b)",
        rf"\b{GAIN_VERB} {PRIV_TO}{DETS}{PRIV_OBJECT}\b",
    ),
    "role_override": (
        rf"\b{ROLE_CLAIM}\s*(?:\S+ ){{0,8}}?{UNRESTRICTED}",
        rf"\b(?:{MODE_NAME}) mode\b", rf"\bmodo (?:{MODE_NAME})\b",
        r"\b(?:enable|activate|enter|turn on|switch to|ative|ativar|entre no|entre em|ligue|"
        r"habilite|activa|activar|entra en) (?:the |o |el )?(?:developer|desenvolvedor|"
        r"desarrollador) mode\b(?! (?:on|in|of|do|da|del|en) )",
        r"\b(?:developer|desenvolvedor|desarrollador) mode (?:enabled|activated|on|ativado|"
        r"ativo|habilitado|activado)\b", r"\bmodo (?:developer|desenvolvedor|desarrollador) "
        r"(?:ativado|ativo|habilitado|activado|enabled)\b",
        NO_LONGER,
        NEW_IDENTITY,
        FAKE_TAG,
    ),
}

# Words of the rules ("ignore", "instruc", ...): leetspeak is undone only into these.
LEET_PREFIXES: frozenset[str] = frozenset(
    word[:4]
    for sources in FAMILIES.values()
    for source in sources
    for word in re.findall(r"[a-z]{2,}", source)
)

/* labkit.filters._chtml: the tokenizer's HTML-to-text passes on ASCII HTML, in C.
 *
 * labkit/filters/tokens.py is the reference: html_to_text here does what
 * _py_html_to_text does for an ASCII text (the branch that lower-cases the text and
 * uses the _LOWER patterns), pass by pass, appending the same tokens in the same order
 * and returning the same text.  For a text that is not ASCII it returns None before
 * appending anything, and the caller runs the Python code.
 *
 * Every pass reads the lower-cased text once from left to right.  A regex there would
 * be tried at each character; here each pass jumps from one "<" (or "&", or "=" for
 * the attributes) to the next and settles what the pattern matches there.  The passes
 * also stop where the Python code's linear-time rules stop them (a "<" with no ">"
 * after it starts no tag, and then no later one does).  The passes that
 * remove things (comments, style/script elements, tags) compact the one work buffer in
 * place: what they write never gets ahead of what they still have to read.
 *
 * Named character references beyond the six common ones are looked up in the Python
 * tables themselves (tokens._NAMED_ENTITIES and tokens._LEGACY_ENTITIES, handed over by
 * set_entities() and set_legacy()): there is no copy of them here.
 *
 * On lower-cased ASCII text, the patterns' \s is _WS_ASCII (\t \n \v \f \r, \x1c-\x1f
 * and space), and [a-zA-Z] meets only lower-case letters.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "common.h"
#include <string.h>

/* character classes of the ASCII table, as bit flags */
enum {
    C_WS = 1,     /* \s on ASCII */
    C_ALNUM = 2,  /* [a-zA-Z0-9] */
    C_ALPHA = 4,  /* [a-zA-Z] */
    C_ATTR_SEP = 8 /* what may come just before a telling attribute: [\s"'/] */
};

static unsigned char cls[128];
static unsigned char low[128];

static void
init_tables(void)
{
    int c;
    for (c = 0; c < 128; c++)
        low[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    for (c = 0x09; c <= 0x0d; c++)
        cls[c] |= C_WS | C_ATTR_SEP;
    for (c = 0x1c; c <= 0x20; c++)
        cls[c] |= C_WS | C_ATTR_SEP;
    for (c = 'a'; c <= 'z'; c++) {
        cls[c] |= C_ALNUM | C_ALPHA;
        cls[c - 32] |= C_ALNUM | C_ALPHA;
    }
    for (c = '0'; c <= '9'; c++)
        cls[c] |= C_ALNUM;
    cls['"'] |= C_ATTR_SEP;
    cls['\''] |= C_ATTR_SEP;
    cls['/'] |= C_ATTR_SEP;
}

#define IS(c, flag) (cls[(c)] & (flag))

/* the first position >= from where s holds c, or -1 */
static Py_ssize_t
find_char(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t from, Py_UCS1 c)
{
    const Py_UCS1 *p;
    if (from >= n)
        return -1;
    p = memchr(s + from, c, (size_t)(n - from));
    return p == NULL ? -1 : p - s;
}

/* the first position >= from where s holds the text word, or -1; word[at] is a
 * character that is rare in HTML, looked for first */
static Py_ssize_t
find_text(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t from, const char *word, Py_ssize_t at)
{
    Py_ssize_t len = (Py_ssize_t)strlen(word), p = from + at;
    while ((p = find_char(s, n, p, (Py_UCS1)word[at])) >= 0) {
        if (p - at + len > n)
            return -1;
        if (p - at >= from && memcmp(s + p - at, word, (size_t)len) == 0)
            return p - at;
        p++;
    }
    return -1;
}

/* the first position >= i that is not whitespace (or n) */
static Py_ssize_t
skip_ws(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    while (i < n && IS(s[i], C_WS))
        i++;
    return i;
}

/* the end of the run of [a-zA-Z0-9] starting at i */
static Py_ssize_t
skip_alnum(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    while (i < n && IS(s[i], C_ALNUM))
        i++;
    return i;
}

/* s[a:b] == word */
static int
same(const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b, const char *word)
{
    size_t len = strlen(word);
    return (size_t)(b - a) == len && memcmp(s + a, word, len) == 0;
}

/* out.append(tag + s[a:b]) */
static int
append_tagged(PyObject *out, const char *tag, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t nt = (Py_ssize_t)strlen(tag);
    PyObject *t = PyUnicode_New(nt + b - a, 127);
    if (t != NULL) {
        memcpy(PyUnicode_1BYTE_DATA(t), tag, (size_t)nt);
        memcpy(PyUnicode_1BYTE_DATA(t) + nt, s + a, (size_t)(b - a));
    }
    return append_new(out, t);
}

/* _COMMENT.sub(" ", s), <!--.*?--> with DOTALL: each "<!--" up to the first "-->"
 * after it (not overlapping it: "<!-->" opens a comment and does not close it); once
 * a "<!--" has no "-->" after it, no later one has.  Returns the new length. */
static Py_ssize_t
drop_comments(Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t r = 0, w = 0, p, q;
    while ((p = find_text(s, n, r, "<!--", 1)) >= 0
           && (q = find_text(s, n, p + 4, "-->", 0)) >= 0) {
        memmove(s + w, s + r, (size_t)(p - r));
        w += p - r;
        s[w++] = ' ';
        r = q + 3;
    }
    memmove(s + w, s + r, (size_t)(n - r));
    return w + n - r;
}

/* the names _TELLING_TAG_SRC matches (_TAG_TOKENS), 3 to 8 letters: no name is the
 * start of another, so the one that matches is the whole run of letters and digits
 * after the "<" (and its spaces) */
static const char *const telling_tags[] = {
    "area", "base", "embed", "form", "iframe", "img", "input", "map", "meta", "object",
    "script", "select", "style", "textarea", NULL
};

/* "tag:" + each match of _TELLING_TAG_LOWER, <\s*(names)(?![a-zA-Z0-9]), in order */
static int
emit_tags(PyObject *out, const Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t i = 0, a, b;
    int k;
    while ((i = find_char(s, n, i, '<')) >= 0) {
        a = skip_ws(s, n, i + 1);
        b = skip_alnum(s, n, a);
        if (b - a >= 3 && b - a <= 8) { /* (most tags are shorter or longer) */
            for (k = 0; telling_tags[k] != NULL; k++) {
                if (s[a] == (Py_UCS1)telling_tags[k][0] && same(s, a, b, telling_tags[k])) {
                    if (append_tagged(out, "tag:", s, a, b) < 0)
                        return -1;
                    break;
                }
            }
        }
        i = b > i + 1 ? b : i + 1; /* (no "<" in between) */
    }
    return 0;
}

/* the end of an end tag <(\s*)/(\s*)NAME\s*> at i (NAME = s[na:nb]), or -1 (the
 * brackets, here and below, only keep the comment from closing) */
static Py_ssize_t
end_tag_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t na, Py_ssize_t nb)
{
    Py_ssize_t j = skip_ws(s, n, i + 1), len = nb - na;
    if (j >= n || s[j] != '/')
        return -1;
    j = skip_ws(s, n, j + 1);
    if (j + len > n || memcmp(s + j, s + na, (size_t)len) != 0)
        return -1;
    j = skip_ws(s, n, j + len);
    return j < n && s[j] == '>' ? j + 1 : -1;
}

/* _INVISIBLE_LOWER.sub(" ", s) (what _drop_invisible gives):
 * <\s*(style|script)(?![a-zA-Z0-9])[^>]*>.*?(?:<(\s*)/(\s*)\1\s*>|(\Z)) with DOTALL.
 * A start tag is "<", spaces, exactly "style" or "script" as the run of letters and
 * digits, then anything up to the first ">"; the element then runs to the first end
 * tag of the same name, or to the end of the text.  Once a start tag has no ">"
 * after it, no later one has.  Returns the new length. */
static Py_ssize_t
drop_invisible(Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t r = 0, w = 0, i = 0, na, nb, gt, e, end;
    while ((i = find_char(s, n, i, '<')) >= 0) {
        na = skip_ws(s, n, i + 1);
        nb = skip_alnum(s, n, na);
        if (!same(s, na, nb, "style") && !same(s, na, nb, "script")) {
            i++;
            continue;
        }
        if ((gt = find_char(s, n, nb, '>')) < 0)
            break;
        end = n; /* no end tag: to the end of the text */
        for (e = gt + 1; (e = find_char(s, n, e, '<')) >= 0; e++) {
            if ((end = end_tag_at(s, n, e, na, nb)) >= 0)
                break;
            end = n;
        }
        memmove(s + w, s + r, (size_t)(i - r));
        w += i - r;
        s[w++] = ' ';
        r = i = end;
    }
    memmove(s + w, s + r, (size_t)(n - r));
    return w + n - r;
}

/* _TAG.sub(" ", s) (what _drop_tags gives): <(\s*)/?\s*[a-zA-Z][^>]*> becomes a space.
 * Once a tag start has no ">" after it, no later one has.  Returns the new length. */
static Py_ssize_t
drop_tags(Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t r = 0, w = 0, i = 0, j, gt;
    while ((i = find_char(s, n, i, '<')) >= 0) {
        j = skip_ws(s, n, i + 1);
        if (j < n && s[j] == '/')
            j = skip_ws(s, n, j + 1);
        if (j >= n || !IS(s[j], C_ALPHA)) {
            i++;
            continue;
        }
        if ((gt = find_char(s, n, j + 1, '>')) < 0)
            break;
        memmove(s + w, s + r, (size_t)(i - r));
        w += i - r;
        s[w++] = ' ';
        r = i = gt + 1;
    }
    memmove(s + w, s + r, (size_t)(n - r));
    return w + n - r;
}

/* The telling attributes (_TELLING_ATTR_SRC): the fixed names and on[a-zA-Z]+. */
static const char *const telling_attrs[] = {
    "href", "src", "action", "usemap", "background", NULL
};

/* s[a:b], a run of letters, is a telling attribute's name */
static int
attr_name(const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    int k;
    if (b - a >= 3 && s[a] == 'o' && s[a + 1] == 'n')
        return 1;
    for (k = 0; telling_attrs[k] != NULL; k++) {
        if (same(s, a, b, telling_attrs[k]))
            return 1;
    }
    return 0;
}

/* The attribute value at v (after "=" and spaces): "[^"]*" or '[^']*' when the
 * quote is closed, else [^\s>]+ (which an unclosed quote also starts).  Its end, or
 * -1 when there is none. */
static Py_ssize_t
attr_value_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t v)
{
    Py_ssize_t e;
    if (v >= n)
        return -1;
    if (s[v] == '"' || s[v] == '\'') {
        e = find_char(s, n, v + 1, s[v]);
        if (e >= 0)
            return e + 1;
    }
    for (e = v; e < n && s[e] != '>' && !IS(s[e], C_WS); e++)
        ;
    return e > v ? e : -1;
}

/* The tokens of each match of _TELLING_ATTR_LOWER.findall(s), in order:
 * [\s"'/](names)\s*=\s*(value).  href, src and action give url_tokens(value with its
 * quotes stripped, out), action then "attr:action"; the others "attr:<name>".
 *
 * Found from each "=" rather than tried at each character: a match has one "=" after
 * its name, and its name is the whole run of letters before that "=" and the spaces
 * in front of it (the character before the name, [\s"'/], is no letter).  Matches
 * and their "="s come in the same order, and a match consumes its leading character
 * and its whole value: the next one starts after it. */
static int
emit_attrs(PyObject *out, const Py_UCS1 *s, Py_ssize_t n, PyObject *url_tokens)
{
    Py_ssize_t pos = 0, eq = 0, a, b, v, e;
    while ((eq = find_char(s, n, eq, '=')) >= 0) {
        for (b = eq; b > pos && IS(s[b - 1], C_WS); b--)
            ;
        for (a = b; a > pos && IS(s[a - 1], C_ALPHA); a--)
            ;
        /* the leading character s[a - 1] must be at or after pos (not consumed) */
        if (a - 1 < pos || !IS(s[a - 1], C_ATTR_SEP) || !attr_name(s, a, b)
            || (e = attr_value_at(s, n, v = skip_ws(s, n, eq + 1))) < 0) {
            eq++;
            continue;
        }
        if (s[a] == 'h' || s[a] == 's' || s[a] == 'a') { /* href, src, action */
            Py_ssize_t qa = v, qb = e;
            PyObject *value, *res, *argv[2];
            while (qa < qb && (s[qa] == '"' || s[qa] == '\''))
                qa++;
            while (qb > qa && (s[qb - 1] == '"' || s[qb - 1] == '\''))
                qb--;
            value = PyUnicode_New(qb - qa, 127);
            if (value == NULL)
                return -1;
            memcpy(PyUnicode_1BYTE_DATA(value), s + qa, (size_t)(qb - qa));
            argv[0] = value;
            argv[1] = out;
            res = PyObject_Vectorcall(url_tokens, argv, 2, NULL);
            Py_DECREF(value);
            if (res == NULL)
                return -1;
            Py_DECREF(res);
            if (s[a] == 'a' && append_new(out, PyUnicode_FromString("attr:action")) < 0)
                return -1;
        }
        else if (append_tagged(out, "attr:", s, a, b) < 0) {
            return -1;
        }
        pos = eq = e;
    }
    return 0;
}

/* The named character references: tokens._NAMED_ENTITIES (lower-case name -> a str of
 * one character), the names decoded when a ";" follows them, and
 * tokens._LEGACY_ENTITIES, the names also decoded without it (the longest one that
 * starts the letters after an "&").  tokens.py hands both over with set_entities() and
 * set_legacy() when it is imported.  New references to those dicts (not copies: a
 * change to them shows here at once); NULL until set. */
static PyObject *entities = NULL;
static PyObject *legacy = NULL;
/* the length of legacy's longest name (6: eacute, frac12 ...): no longer prefix is
 * looked up */
static Py_ssize_t legacy_max = 0;

/* the character table gives for the name s[a:b] (ASCII letters and digits, already
 * lower-case); -1 when it has none, -2 with an exception set on error */
static long
look_up(PyObject *table, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    PyObject *key, *c;

    key = PyUnicode_New(b - a, 127);
    if (key == NULL)
        return -2;
    memcpy(PyUnicode_1BYTE_DATA(key), s + a, (size_t)(b - a));
    c = PyDict_GetItemWithError(table, key); /* (borrowed: the dict keeps it) */
    Py_DECREF(key);
    if (c == NULL)
        return PyErr_Occurred() ? -2 : -1;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_Check(c) && PyUnicode_READY(c) < 0)
        return -2;
#endif
    if (!PyUnicode_CheckExact(c) || PyUnicode_GET_LENGTH(c) != 1) { /* (changed since) */
        PyErr_Format(PyExc_TypeError, "the entity table's values must be one-character "
                     "str, not %.80s", Py_TYPE(c)->tp_name);
        return -2;
    }
    return (long)PyUnicode_READ_CHAR(c, 0);
}

/* tokens._C1_REFERENCES: the characters of the numbers 128-159, read as windows-1252 (a
 * browser does; the five numbers it leaves undefined stay as they are).  A fixed
 * table of the encoding; the tests compare every number on both paths. */
static const Py_UCS4 c1_references[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
    0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178
};

/* The value of the digits s[a:b] (base 16 or 10), the character _entity gives for it:
 * 128-159 as windows-1252; 0, a surrogate or a number past U+10FFFF gives a space. */
static long
number(const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b, int base)
{
    long code = 0;

    for (; a < b; a++) {
        int c = low[s[a]];
        code = code * base + (c <= '9' ? c - '0' : c - 'a' + 10);
        if (code >= 0x110000) /* (stop growing: it stays too big) */
            return ' ';
    }
    if (code >= 0x80 && code < 0xa0)
        return (long)c1_references[code - 0x80];
    return code > 0 && !(code >= 0xd800 && code < 0xe000) ? code : ' ';
}

/* _ENTITY and _entity at s[i] == "&": the character a browser shows for the reference
 * there and the end of what it replaces (*end); -1 when the "&" stays as it is, -2
 * with an exception set on error.  A number is "#" and decimal digits or "#x" and hex
 * digits, then an optional ";".  A name is the run of letters and digits after the
 * "&": with a ";" after it, looked up whole in entities; else (or not found there) the
 * longest legacy name that starts the run, and the rest of the run stays as text. */
static long
entity_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *end)
{
    static const struct { const char *name; char c; } common[] = {
        {"nbsp", ' '}, {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
        {"apos", '\''}, {NULL, 0}
    };
    Py_ssize_t a = i + 1, b, m;
    long c;
    int k;

    if (a < n && s[a] == '#') {
        int hex = a + 1 < n && low[s[a + 1]] == 'x';
        a += 1 + hex;
        for (b = a; b < n && (hex ? (IS(s[b], C_ALNUM) && low[s[b]] <= 'f')
                                  : (s[b] >= '0' && s[b] <= '9')); b++)
            ;
        if (b == a) /* "&#" or "&#x" with no digit: text */
            return -1;
        *end = b < n && s[b] == ';' ? b + 1 : b;
        return number(s, a, b, hex ? 16 : 10);
    }
    b = skip_alnum(s, n, a);
    if (b == a)
        return -1;
    if (b < n && s[b] == ';') { /* the whole name, looked up lower-cased (the text is) */
        *end = b + 1;
        for (k = 0; common[k].name != NULL; k++) { /* the common six without a look-up */
            if (same(s, a, b, common[k].name))
                return common[k].c;
        }
        if ((c = look_up(entities, s, a, b)) != -1)
            return c;
    }
    for (m = b - a < legacy_max ? b : a + legacy_max; m > a; m--) {
        if ((c = look_up(legacy, s, a, m)) != -1) {
            *end = m;
            return c;
        }
    }
    return -1;
}

/* _ENTITY.sub(_entity, s) as a new str: an entity may give any character, so the
 * result is measured first (length, widest character), then written: the text
 * between entities copied whole when every character fits in a byte. */
static PyObject *
replace_entities(const Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t i = 0, amp, len = n, end = 0, w = 0;
    Py_UCS4 widest = 127;
    long c;
    PyObject *text;
    int kind;
    void *data;

    while ((amp = find_char(s, n, i, '&')) >= 0) {
        if ((c = entity_at(s, n, amp, &end)) == -2)
            return NULL;
        if (c < 0) {
            i = amp + 1;
            continue;
        }
        if ((Py_UCS4)c > widest)
            widest = (Py_UCS4)c;
        len -= end - amp - 1;
        i = end;
    }
    text = PyUnicode_New(len, widest);
    if (text == NULL)
        return NULL;
    kind = PyUnicode_KIND(text);
    data = PyUnicode_DATA(text);
    i = 0;
    while (i < n) {
        amp = find_char(s, n, i, '&');
        if (amp < 0)
            amp = n;
        if (kind == PyUnicode_1BYTE_KIND) {
            memcpy((Py_UCS1 *)data + w, s + i, (size_t)(amp - i));
            w += amp - i;
        }
        else {
            for (; i < amp; i++)
                PyUnicode_WRITE(kind, data, w++, s[i]);
        }
        if (amp == n)
            break;
        if ((c = entity_at(s, n, amp, &end)) == -2)
            goto error;
        if (c < 0) {
            PyUnicode_WRITE(kind, data, w++, '&');
            i = amp + 1;
        }
        else {
            if ((Py_UCS4)c > widest) { /* (only if the table changed between the passes) */
                PyErr_SetString(PyExc_RuntimeError, "the entity table changed during the call");
                goto error;
            }
            PyUnicode_WRITE(kind, data, w++, (Py_UCS4)c);
            i = end;
        }
    }
    return text;
error:
    Py_DECREF(text);
    return NULL;
}

PyDoc_STRVAR(html_to_text_doc,
"html_to_text(html, out, url_tokens) -> str | None\n\n"
"tokens._py_html_to_text(html, out) for an ASCII html: appends the tag: and attr:\n"
"tokens to out (calling url_tokens(value, out) for each href, src and action\n"
"value, as _url_tokens) and returns the text. None, with nothing appended, when\n"
"html is not ASCII.");

static PyObject *
ch_html_to_text(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *html, *out, *url_tokens, *text = NULL;
    const Py_UCS1 *src;
    Py_UCS1 *s;
    Py_ssize_t n, i;
    int ascii;

    if (check_nargs("html_to_text", nargs, 3) < 0 || check_str(args[0], "html") < 0
        || check_list(args[1], "out") < 0)
        return NULL;
    html = args[0];
    out = args[1];
    url_tokens = args[2];
    if (!PyCallable_Check(url_tokens)) {
        PyErr_Format(PyExc_TypeError, "url_tokens must be callable, not %.80s",
                     Py_TYPE(url_tokens)->tp_name);
        return NULL;
    }
    if (entities == NULL || legacy == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "set_entities() and set_legacy() were not called "
                        "(labkit.filters.tokens calls them when imported)");
        return NULL;
    }
    if ((ascii = ascii_chars(html, &src, &n)) < 0)
        return NULL;
    if (!ascii)
        Py_RETURN_NONE;
    /* the work buffer: the text lower-cased, then cut down pass by pass */
    s = PyMem_Malloc(n > 0 ? (size_t)n : 1);
    if (s == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n; i++) /* (arithmetic rather than low[]: the compiler vectorises it) */
        s[i] = (Py_UCS1)(src[i] + ((unsigned)(src[i] - 'A') < 26u ? 32 : 0));
    n = drop_comments(s, n);
    if (emit_tags(out, s, n) < 0)
        goto done;
    n = drop_invisible(s, n);
    if (emit_attrs(out, s, n, url_tokens) < 0)
        goto done;
    n = drop_tags(s, n);
    text = replace_entities(s, n);
done:
    PyMem_Free(s);
    return text;
}

/* Keep table (a dict of str -> one-character str, every entry checked) in *slot; its
 * longest name's length in *longest when longest is not NULL. */
static PyObject *
take_table(PyObject *table, PyObject **slot, Py_ssize_t *longest)
{
    PyObject *key, *value, *old;
    Py_ssize_t pos = 0, most = 0;

    if (!PyDict_CheckExact(table)) {
        PyErr_Format(PyExc_TypeError, "table must be a dict, not %.80s",
                     Py_TYPE(table)->tp_name);
        return NULL;
    }
    /* every entry checked once here (look_up checks the value it reads again) */
    while (PyDict_Next(table, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            PyErr_Format(PyExc_TypeError, "table's names must be str, not %.80s",
                         Py_TYPE(key)->tp_name);
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(key) < 0 || (PyUnicode_Check(value) && PyUnicode_READY(value) < 0))
            return NULL;
#endif
        if (!PyUnicode_CheckExact(value)) {
            PyErr_Format(PyExc_TypeError, "table's characters must be str, not %.80s",
                         Py_TYPE(value)->tp_name);
            return NULL;
        }
        if (PyUnicode_GET_LENGTH(value) != 1) {
            PyErr_Format(PyExc_TypeError, "table's characters must be one-character str, "
                         "not a str of length %zd", PyUnicode_GET_LENGTH(value));
            return NULL;
        }
        if (PyUnicode_GET_LENGTH(key) > most)
            most = PyUnicode_GET_LENGTH(key);
    }
    old = *slot;
    Py_INCREF(table);
    *slot = table;
    Py_XDECREF(old);
    if (longest != NULL)
        *longest = most;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(set_entities_doc,
"set_entities(table) -> None\n\n"
"The named character references html_to_text decodes when a \";\" follows them,\n"
"beyond nbsp, amp, lt, gt, quot and apos: a dict of lower-case name -> one-character\n"
"str (tokens._NAMED_ENTITIES). The dict itself is kept, not copied.");

static PyObject *
ch_set_entities(PyObject *Py_UNUSED(module), PyObject *table)
{
    return take_table(table, &entities, NULL);
}

PyDoc_STRVAR(set_legacy_doc,
"set_legacy(table) -> None\n\n"
"The names html_to_text also decodes without their \";\" (the longest that starts the\n"
"letters after an \"&\"): a dict of lower-case name -> one-character str\n"
"(tokens._LEGACY_ENTITIES). The dict itself is kept, not copied; names longer than\n"
"its longest one now are not looked up.");

static PyObject *
ch_set_legacy(PyObject *Py_UNUSED(module), PyObject *table)
{
    return take_table(table, &legacy, &legacy_max);
}

static PyMethodDef chtml_methods[] = {
    {"html_to_text", (PyCFunction)(void (*)(void))ch_html_to_text, METH_FASTCALL,
     html_to_text_doc},
    {"set_entities", ch_set_entities, METH_O, set_entities_doc},
    {"set_legacy", ch_set_legacy, METH_O, set_legacy_doc},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef chtml_module = {
    PyModuleDef_HEAD_INIT,
    "_chtml",
    "The tokenizer's HTML-to-text passes on ASCII HTML (labkit.filters.tokens is the\n"
    "reference: the same tokens in the same order, and the same text).",
    -1,
    chtml_methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__chtml(void)
{
    init_tables();
    return PyModule_Create(&chtml_module);
}

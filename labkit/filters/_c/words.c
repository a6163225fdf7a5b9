/* labkit.filters._cwords: the tokenizer's hot scans on ASCII text, in C.
 *
 * labkit/filters/tokens.py is the reference: each function here does what a Python
 * function there does (named below), appending the same tokens in the same order to
 * the caller's list.  Only ASCII text is handled; for any other text a function
 * returns False before appending anything, and the caller runs the Python code.
 * header_tokens does the whole header loop (_header_tokens) with the scans below: the
 * field kinds, address domains, Received address and Content-Type parameters that the
 * Python code finds with regular expressions are found here by hand, each next to the
 * pattern it stands for.
 *
 * On ASCII text the word pattern _WORD3_ASCII needs no regex: split the text at the
 * separator characters, strip the edge characters from both ends of each piece, and
 * keep the pieces of 3 characters or more (a run of non-separators holds at most one
 * match, from its first non-edge character to its last).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "common.h"
#include <string.h>

/* character classes of the ASCII table, as bit flags */
enum {
    C_SEP = 1,       /* splits words: _SEP_ASCII */
    C_EDGE = 2,      /* may not start or end a word: _EDGE */
    C_HOST_END = 4,  /* ends a URL's host: [\s"'<>/?#:)] */
    C_PATH_END = 8,  /* ends a URL's path: [\s"'<>)] */
    C_PW_FIRST = 16, /* may start a path word: [a-z0-9] */
    C_PW_REST = 32,  /* may continue one: [a-z0-9_-] */
    C_SPACE = 64,    /* \s, and what str.strip() removes: ASCII whitespace */
    C_DOMAIN = 128   /* in a domain's label: [\w-], \w being [A-Za-z0-9_] on ASCII */
};

static unsigned char cls[128];
static unsigned char low[128];

static void
set_class(const char *chars, unsigned char flags)
{
    for (; *chars; chars++)
        cls[(unsigned char)*chars] |= flags;
}

static void
init_tables(void)
{
    int c;
    for (c = 0; c < 128; c++)
        low[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    /* what \s matches on ASCII text: \t \n \v \f \r, \x1c-\x1f and space */
    for (c = 0x09; c <= 0x0d; c++)
        cls[c] |= C_SEP | C_HOST_END | C_PATH_END | C_SPACE;
    for (c = 0x1c; c <= 0x20; c++)
        cls[c] |= C_SEP | C_HOST_END | C_PATH_END | C_SPACE;
    set_class("\"'<>(){}[],;:|*=", C_SEP);
    set_class("'.!?-$%#&+/_\\`~^@", C_EDGE);
    set_class("\"'<>/?#:)", C_HOST_END);
    set_class("\"'<>)", C_PATH_END);
    for (c = 'a'; c <= 'z'; c++)
        cls[c] |= C_PW_FIRST | C_PW_REST;
    for (c = '0'; c <= '9'; c++)
        cls[c] |= C_PW_FIRST | C_PW_REST;
    cls['_'] |= C_PW_REST | C_DOMAIN;
    cls['-'] |= C_PW_REST | C_DOMAIN;
    for (c = 'A'; c <= 'Z'; c++)
        cls[c] |= C_DOMAIN;
    for (c = 'a'; c <= 'z'; c++)
        cls[c] |= C_DOMAIN;
    for (c = '0'; c <= '9'; c++)
        cls[c] |= C_DOMAIN;
}

/* a new ASCII str of n characters, to be filled through *buf */
static PyObject *
new_ascii(Py_ssize_t n, Py_UCS1 **buf)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL)
        *buf = PyUnicode_1BYTE_DATA(s);
    return s;
}

static Py_UCS1 *
copy_lower(Py_UCS1 *dst, const Py_UCS1 *src, Py_ssize_t n)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++)
        dst[i] = low[src[i]];
    return dst + n;
}

/* prefix + lower(word) */
static int
append_word(PyObject *out, const Py_UCS1 *prefix, Py_ssize_t np,
            const Py_UCS1 *word, Py_ssize_t nw)
{
    Py_UCS1 *p = NULL;
    PyObject *s = new_ascii(np + nw, &p);
    if (s != NULL) {
        memcpy(p, prefix, (size_t)np);
        copy_lower(p + np, word, nw);
    }
    return append_new(out, s);
}

/* Spans (start, length) of the words found in a text; a few live on the stack. */
#define SPANS_ON_STACK 128
typedef struct {
    Py_ssize_t *v; /* start, length, start, length, ... */
    Py_ssize_t n;  /* spans held */
    Py_ssize_t cap;
    Py_ssize_t stack[2 * SPANS_ON_STACK];
} Spans;

static void
spans_init(Spans *sp)
{
    sp->v = sp->stack;
    sp->n = 0;
    sp->cap = SPANS_ON_STACK;
}

static void
spans_free(Spans *sp)
{
    if (sp->v != sp->stack)
        PyMem_Free(sp->v);
    sp->v = sp->stack;
}

static int
spans_push(Spans *sp, Py_ssize_t start, Py_ssize_t len)
{
    if (sp->n == sp->cap) {
        Py_ssize_t cap = sp->cap * 2;
        Py_ssize_t *v;
        if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)(2 * sizeof(Py_ssize_t))) {
            PyErr_NoMemory();
            return -1;
        }
        if (sp->v == sp->stack) {
            v = PyMem_Malloc((size_t)cap * 2 * sizeof(Py_ssize_t));
            if (v != NULL)
                memcpy(v, sp->stack, sizeof(sp->stack));
        }
        else {
            v = PyMem_Realloc(sp->v, (size_t)cap * 2 * sizeof(Py_ssize_t));
        }
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[2 * sp->n] = start;
    sp->v[2 * sp->n + 1] = len;
    sp->n++;
    return 0;
}

/* _WORD3_ASCII.findall(s): each run of non-separators, stripped of edge characters at
 * both ends, when 3 characters or more remain */
static int
find_words(const Py_UCS1 *s, Py_ssize_t n, Spans *sp)
{
    Py_ssize_t i = 0, a, b;
    while (i < n) {
        while (i < n && (cls[s[i]] & C_SEP))
            i++;
        a = i;
        while (i < n && !(cls[s[i]] & C_SEP))
            i++;
        b = i; /* the run is s[a:b] */
        while (a < b && (cls[s[a]] & C_EDGE))
            a++;
        while (b > a && (cls[s[b - 1]] & C_EDGE))
            b--;
        if (b - a >= 3 && spans_push(sp, a, b - a) < 0)
            return -1;
    }
    return 0;
}

/* The tokens _words appends for the words of s: the words of at most max_word
 * characters, lower-cased and prefixed; with pairs, each two neighbours among them
 * joined by a space; then "skip:<first char> <length//10*10>" for each longer word. */
static int
emit_words(PyObject *out, const Py_UCS1 *s, Py_ssize_t n, const Py_UCS1 *prefix,
           Py_ssize_t np, int pairs, Py_ssize_t max_word)
{
    Spans sp;
    Py_ssize_t i, prev = -1, n_long = 0;
    int r = -1;

    spans_init(&sp);
    if (find_words(s, n, &sp) < 0)
        goto done;
    for (i = 0; i < sp.n; i++) {
        Py_ssize_t len = sp.v[2 * i + 1];
        if (len > max_word) {
            n_long++;
            continue;
        }
        if (append_word(out, prefix, np, s + sp.v[2 * i], len) < 0)
            goto done;
    }
    if (pairs) { /* neighbours in the list of short words (a long one between is skipped) */
        for (i = 0; i < sp.n; i++) {
            Py_ssize_t len = sp.v[2 * i + 1], plen;
            Py_UCS1 *p = NULL;
            PyObject *pair;
            if (len > max_word)
                continue;
            if (prev < 0) {
                prev = i;
                continue;
            }
            plen = sp.v[2 * prev + 1];
            pair = new_ascii(np + plen + 1 + len, &p);
            if (pair != NULL) {
                memcpy(p, prefix, (size_t)np);
                p = copy_lower(p + np, s + sp.v[2 * prev], plen);
                *p++ = ' ';
                copy_lower(p, s + sp.v[2 * i], len);
            }
            if (append_new(out, pair) < 0)
                goto done;
            prev = i;
        }
    }
    for (i = 0; n_long > 0 && i < sp.n; i++) {
        Py_ssize_t len = sp.v[2 * i + 1];
        char num[32];
        int nd;
        Py_UCS1 *p = NULL;
        PyObject *skip;
        if (len <= max_word)
            continue;
        nd = snprintf(num, sizeof(num), "%zd", len / 10 * 10);
        skip = new_ascii(np + 5 + 1 + 1 + nd, &p);
        if (skip != NULL) {
            memcpy(p, prefix, (size_t)np);
            p += np;
            memcpy(p, "skip:", 5);
            p += 5;
            *p++ = low[s[sp.v[2 * i]]];
            *p++ = ' ';
            memcpy(p, num, (size_t)nd);
        }
        if (append_new(out, skip) < 0)
            goto done;
    }
    r = 0;
done:
    spans_free(&sp);
    return r;
}

/* a whole number (a bool is refused) */
static int
get_count(PyObject *o, const char *what, Py_ssize_t *v)
{
    if (!PyLong_CheckExact(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.80s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    *v = PyLong_AsSsize_t(o);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

static int
get_flag(PyObject *o, const char *what)
{
    if (!PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a bool, not %.80s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    return o == Py_True;
}

PyDoc_STRVAR(words_doc,
"words(text, out, prefix, pairs, max_word) -> bool\n\n"
"tokens._words(text, out, prefix, pairs) on ASCII text and prefix (the text is\n"
"lower-cased here). False, with nothing appended, when either is not ASCII.");

static PyObject *
cw_words(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL, *prefix = NULL;
    Py_ssize_t n = 0, np = 0, max_word = 0;
    int pairs, ok;

    if (check_nargs("words", nargs, 5) < 0 || check_str(args[0], "text") < 0
        || check_list(args[1], "out") < 0 || check_str(args[2], "prefix") < 0)
        return NULL;
    if ((pairs = get_flag(args[3], "pairs")) < 0 || get_count(args[4], "max_word", &max_word) < 0)
        return NULL;
    if ((ok = ascii_chars(args[0], &s, &n)) < 0)
        return NULL;
    if (ok && (ok = ascii_chars(args[2], &prefix, &np)) < 0)
        return NULL;
    if (!ok)
        Py_RETURN_FALSE;
    if (emit_words(args[1], s, n, prefix, np, pairs, max_word) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(field_words_doc,
"field_words(named, out, max_word) -> bool\n\n"
"tokens._field_words(named, out) when every name and text is ASCII: for each\n"
"(name, text) tuple of the list, the words of the text prefixed with 'name:', long\n"
"ones as skips, no pairs. False, with nothing appended, when one is not ASCII.");

static PyObject *
cw_field_words(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *named, *out;
    Py_ssize_t i, count, max_word = 0, longest = 0;
    Py_UCS1 *prefix = NULL;
    PyObject *result = NULL;

    if (check_nargs("field_words", nargs, 3) < 0)
        return NULL;
    named = args[0];
    out = args[1];
    if (check_list(named, "named") < 0 || check_list(out, "out") < 0
        || get_count(args[2], "max_word", &max_word) < 0)
        return NULL;
    /* all checked first: a non-ASCII field anywhere sends the whole list to Python */
    count = PyList_GET_SIZE(named);
    for (i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(named, i);
        const Py_UCS1 *chars;
        Py_ssize_t n;
        int ok, k;
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "named must hold (name, text) tuples, not %.80s",
                         Py_TYPE(item)->tp_name);
            return NULL;
        }
        for (k = 0; k < 2; k++) {
            PyObject *s = PyTuple_GET_ITEM(item, k);
            if (check_str(s, k ? "a field's text" : "a field's name") < 0)
                return NULL;
            if ((ok = ascii_chars(s, &chars, &n)) < 0)
                return NULL;
            if (!ok)
                Py_RETURN_FALSE;
            if (k == 0 && n > longest)
                longest = n;
        }
    }
    /* one buffer for every "name:" prefix */
    prefix = PyMem_Malloc((size_t)longest + 1);
    if (prefix == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < count; i++) {
        /* (the tuples and their strings are immutable: the checks above still hold; no
         * Python code runs here, so named loses no item, and only the first count items
         * are read even when out is named itself) */
        PyObject *item = PyList_GET_ITEM(named, i);
        const Py_UCS1 *name, *text;
        Py_ssize_t nn, nt;
        name = PyUnicode_1BYTE_DATA(PyTuple_GET_ITEM(item, 0));
        nn = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(item, 0));
        text = PyUnicode_1BYTE_DATA(PyTuple_GET_ITEM(item, 1));
        nt = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(item, 1));
        memcpy(prefix, name, (size_t)nn);
        prefix[nn] = ':';
        if (emit_words(out, text, nt, prefix, nn + 1, 0, max_word) < 0)
            goto done;
    }
    result = Py_True;
    Py_INCREF(result);
done:
    PyMem_Free(prefix);
    return result;
}

/* the position of the first "://" in s[from:n], or -1 */
static Py_ssize_t
find_sep(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t from)
{
    const Py_UCS1 *p;
    if (from < 0)
        from = 0;
    while (from + 3 <= n) {
        p = memchr(s + from, ':', (size_t)(n - 2 - from));
        if (p == NULL)
            return -1;
        from = p - s;
        if (p[1] == '/' && p[2] == '/')
            return from;
        from++;
    }
    return -1;
}

/* s[at:at+len(word)] == word, ASCII letters compared case-blind when caseless */
static int
has_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at, const char *word, int caseless)
{
    Py_ssize_t i, len = (Py_ssize_t)strlen(word);
    if (at + len > n)
        return 0;
    for (i = 0; i < len; i++) {
        Py_UCS1 c = caseless ? low[s[at + i]] : s[at + i];
        if (c != (Py_UCS1)word[i])
            return 0;
    }
    return 1;
}

/* _URL.match(s, start): (?:https?|ftp)://([^\s"'<>/?#:)]+)([^\s"'<>)]*) gives the host
 * s[*host:*path] and the path s[*path:*end]. The three schemes exclude each other here
 * (each needs "://" right after it), so no backtracking is needed. */
static int
match_url(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t start, int caseless,
          Py_ssize_t *host, Py_ssize_t *path, Py_ssize_t *end)
{
    Py_ssize_t i;
    if (has_at(s, n, start, "https://", caseless))
        i = start + 8;
    else if (has_at(s, n, start, "http://", caseless))
        i = start + 7;
    else if (has_at(s, n, start, "ftp://", caseless))
        i = start + 6;
    else
        return 0;
    *host = i;
    while (i < n && !(cls[s[i]] & C_HOST_END))
        i++;
    if (i == *host)
        return 0;
    *path = i;
    while (i < n && !(cls[s[i]] & C_PATH_END))
        i++;
    *end = i;
    return 1;
}

/* "url:path:" + each _PATH_WORD match, [a-z0-9][a-z0-9_-]{2,19}, in the lower-cased path */
static int
emit_path_words(PyObject *out, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    static const Py_UCS1 tag[] = "url:path:";
    Py_ssize_t i = a, j;
    while (i < b) {
        if (!(cls[low[s[i]]] & C_PW_FIRST)) {
            i++;
            continue;
        }
        j = i + 1;
        while (j < b && j - i < 20 && (cls[low[s[j]]] & C_PW_REST))
            j++;
        if (j - i < 3) { /* too short: the next match may start at the next character */
            i++;
            continue;
        }
        if (append_word(out, tag, 9, s + i, j - i) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* The tokens of one URL's host s[a:b]: lower-cased, trailing dots and user info
 * dropped; "url:ip" and "url:<host>" for a numeric one, else "url:" + each of its
 * last parent domains (at most 4 labels, at least 2), longest first. */
static int
emit_host(PyObject *out, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    static const Py_UCS1 tag[] = "url:";
    Py_ssize_t i, dots[4], nd = 0, digits = 0, j;
    int numeric = 1;

    while (b > a && s[b - 1] == '.')
        b--;
    for (i = b - 1; i >= a; i--) {
        if (s[i] == '@') {
            a = i + 1;
            break;
        }
    }
    for (i = a; i < b; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] != '.') {
            numeric = 0;
            break;
        }
    }
    if (numeric && digits > 0) {
        if (append_new(out, PyUnicode_FromString("url:ip")) < 0)
            return -1;
        return append_word(out, tag, 4, s + a, b - a);
    }
    /* the last 4 dots, from the right: enough to find where the suffixes start */
    for (i = b - 1; i >= a && nd < 4; i--) {
        if (s[i] == '.')
            dots[nd++] = i;
    }
    for (j = nd < 3 ? nd : 3; j >= 1; j--) {
        Py_ssize_t from = j < nd ? dots[j] + 1 : a;
        if (append_word(out, tag, 4, s + from, b - from) < 0)
            return -1;
    }
    return 0;
}

/* The tokens of each URL in s (see url_tokens below) */
static int
emit_urls(PyObject *out, const Py_UCS1 *s, Py_ssize_t n, int caseless, int paths)
{
    Py_ssize_t k, pos = 0, host = 0, path = 0, end = 0;
    /* from each "://", the scheme may start 5, 4 or 3 characters before it (tried in
     * that order), never before the end of the previous match */
    k = find_sep(s, n, 0);
    while (k >= 0) {
        Py_ssize_t start;
        int found = 0;
        for (start = k - 5; start <= k - 3; start++) {
            if (start >= pos && match_url(s, n, start, caseless, &host, &path, &end)) {
                found = 1;
                break;
            }
        }
        if (!found) {
            k = find_sep(s, n, k + 1);
            continue;
        }
        pos = end;
        k = find_sep(s, n, pos);
        if (paths && path < end && emit_path_words(out, s, path, end) < 0)
            return -1;
        if (emit_host(out, s, host, path) < 0)
            return -1;
    }
    return 0;
}

PyDoc_STRVAR(url_tokens_doc,
"url_tokens(text, out, caseless, paths) -> bool\n\n"
"tokens._url_tokens(text, out, url) on ASCII text: caseless=True for url=_URL,\n"
"False for _URL_LOWER; paths is URL_PATHS. False, with nothing appended, when the\n"
"text is not ASCII.");

static PyObject *
cw_url_tokens(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL;
    Py_ssize_t n = 0;
    int caseless, paths, ok;

    if (check_nargs("url_tokens", nargs, 4) < 0 || check_str(args[0], "text") < 0
        || check_list(args[1], "out") < 0)
        return NULL;
    if ((caseless = get_flag(args[2], "caseless")) < 0 || (paths = get_flag(args[3], "paths")) < 0)
        return NULL;
    if ((ok = ascii_chars(args[0], &s, &n)) < 0)
        return NULL;
    if (!ok)
        Py_RETURN_FALSE;
    if (emit_urls(args[1], s, n, caseless, paths) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

/* a header field name's characters: [!-9;-~], printable ASCII but the colon */
static int
name_char(unsigned char c)
{
    return c >= '!' && c <= '~' && c != ':';
}

/* the end of the line starting at p: the position of its "\n", or n */
static Py_ssize_t
line_end(const char *s, Py_ssize_t n, Py_ssize_t p)
{
    const char *nl = p < n ? memchr(s + p, '\n', (size_t)(n - p)) : NULL;
    return nl == NULL ? n : nl - s;
}

PyDoc_STRVAR(header_fields_doc,
"header_fields(head) -> list\n\n"
"tokens._py_folded_fields(head) for a header block with no mbox 'From ' line: the\n"
"(lower-case name, value as written) pairs that _FIELD_STR.findall finds in\n"
"head.decode('latin-1'), i.e. ^([!-9;-~]+)[ \\t]*:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*) per line.");

static PyObject *
cw_header_fields(PyObject *Py_UNUSED(module), PyObject *head)
{
    const char *s;
    Py_ssize_t n, p = 0;
    PyObject *fields;

    if (!PyBytes_CheckExact(head)) {
        PyErr_Format(PyExc_TypeError, "head must be bytes, not %.80s", Py_TYPE(head)->tp_name);
        return NULL;
    }
    s = PyBytes_AS_STRING(head);
    n = PyBytes_GET_SIZE(head);
    fields = PyList_New(0);
    if (fields == NULL)
        return NULL;
    /* each line start (the start, or after a "\n": MULTILINE's ^) may begin a field */
    while (p < n) {
        Py_ssize_t q = p, v, e;
        while (q < n && name_char((unsigned char)s[q]))
            q++;
        v = q;
        while (v < n && (s[v] == ' ' || s[v] == '\t'))
            v++;
        if (q > p && v < n && s[v] == ':') {
            PyObject *name, *value, *pair;
            Py_UCS1 *buf = NULL;
            v++;
            while (v < n && (s[v] == ' ' || s[v] == '\t'))
                v++;
            /* the value runs to the end of its line, and on over each following line
             * that starts with a space or tab (a folded line; "\r" stays in the text) */
            e = line_end(s, n, v);
            while (e + 1 < n && (s[e + 1] == ' ' || s[e + 1] == '\t'))
                e = line_end(s, n, e + 1);
            name = new_ascii(q - p, &buf);
            if (name != NULL)
                copy_lower(buf, (const Py_UCS1 *)s + p, q - p);
            value = PyUnicode_DecodeLatin1(s + v, e - v, NULL);
            pair = name != NULL && value != NULL ? PyTuple_Pack(2, name, value) : NULL;
            Py_XDECREF(name);
            Py_XDECREF(value);
            if (append_new(fields, pair) < 0) {
                Py_DECREF(fields);
                return NULL;
            }
            p = e; /* at the "\n" ending the field, or the end */
        }
        p = line_end(s, n, p) + 1; /* no field here (or one ended): the next line */
    }
    return fields;
}

/* ---- the header loop: tokens._py_header_tokens on fields whose text is ASCII ---- */

/* the longest field text _header_tokens keeps for the words (_capped) */
#define FIELD_CAP 2000

/* how _header_tokens treats a field, by its name (_SKIP_FIELDS, _FIELD_KINDS) */
enum { K_PLAIN, K_SKIP, K_SUBJECT, K_CONTENT_TYPE, K_ADDRESS, K_RECEIVED };

static int
field_kind(const Py_UCS1 *name, Py_ssize_t n)
{
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {
        {"date", K_SKIP},
        {"subject", K_SUBJECT},
        {"content-type", K_CONTENT_TYPE},
        {"received", K_RECEIVED},
        /* _ADDRESS_FIELDS */
        {"from", K_ADDRESS}, {"to", K_ADDRESS}, {"cc", K_ADDRESS}, {"reply-to", K_ADDRESS},
        {"return-path", K_ADDRESS}, {"sender", K_ADDRESS}, {"message-id", K_ADDRESS},
        {"errors-to", K_ADDRESS},
    };
    size_t i;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if ((Py_ssize_t)strlen(kinds[i].name) == n && memcmp(kinds[i].name, name, (size_t)n) == 0)
            return kinds[i].kind;
    }
    return K_PLAIN;
}

/* "=?" somewhere in s: an encoded word may start there (decoded by the Python code) */
static int
has_encoded_word(const Py_UCS1 *s, Py_ssize_t n)
{
    const Py_UCS1 *p = s, *last;
    if (n < 2)
        return 0;
    last = s + n - 1; /* (an "=" there has nothing after it) */
    while (p < last && (p = memchr(p, '=', (size_t)(last - p))) != NULL) {
        if (p[1] == '?')
            return 1;
        p++;
    }
    return 0;
}

/* _unfold(s): each "\r?\n[ \t]+" becomes one space, then str.strip() (ASCII whitespace,
 * \x1c-\x1f included). Written to dst (room for n characters); returns the length of
 * the stripped text, which starts at dst + *start. */
static Py_ssize_t
unfold(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 *dst, Py_ssize_t *start)
{
    Py_ssize_t i = 0, j = 0, a = 0;
    while (i < n) {
        Py_ssize_t k = s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? i + 1 : i;
        if (s[k] == '\n' && k + 1 < n && (s[k + 1] == ' ' || s[k + 1] == '\t')) {
            for (k += 2; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
                ;
            dst[j++] = ' ';
            i = k;
        }
        else {
            dst[j++] = s[i++];
        }
    }
    while (a < j && (cls[dst[a]] & C_SPACE))
        a++;
    while (j > a && (cls[dst[j - 1]] & C_SPACE))
        j--;
    *start = a;
    return j - a;
}

/* a run of 1-3 digits at s[i] followed by the character want: its length, else 0 (a
 * 4th digit is not want, and giving back digits leaves a digit before want: no match) */
static Py_ssize_t
ip_part(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, Py_UCS1 want)
{
    Py_ssize_t j = i;
    while (j < n && j - i < 3 && s[j] >= '0' && s[j] <= '9')
        j++;
    return j > i && j < n && s[j] == want ? j - i : 0;
}

/* _IP.search(s): the first "[d.d.d.d]", each d 1-3 digits; the address is s[*a:*b] */
static int
find_ip(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t *a, Py_ssize_t *b)
{
    const Py_UCS1 *p = s;
    while (p < s + n && (p = memchr(p, '[', (size_t)(s + n - p))) != NULL) {
        Py_ssize_t i = p - s + 1, len;
        int part;
        for (part = 0; part < 4; part++) {
            len = ip_part(s, n, i, part < 3 ? '.' : ']');
            if (len == 0)
                break;
            i += len + 1;
        }
        if (part == 4) {
            *a = p - s + 1;
            *b = i - 1;
            return 1;
        }
        p++;
    }
    return 0;
}

static int
starts_with(const Py_UCS1 *s, Py_ssize_t n, const char *head)
{
    Py_ssize_t len = (Py_ssize_t)strlen(head);
    return n >= len && memcmp(s, head, (size_t)len) == 0;
}

/* _INTERNAL_IP.match(ip) for an address _IP found (digits and dots): loopback, RFC 1918
 * private, link-local, "this network" */
static int
internal_ip(const Py_UCS1 *ip, Py_ssize_t n)
{
    if (starts_with(ip, n, "127.") || starts_with(ip, n, "10.") || starts_with(ip, n, "0.")
        || starts_with(ip, n, "192.168.") || starts_with(ip, n, "169.254."))
        return 1;
    /* 172.16. to 172.31. */
    return n >= 7 && starts_with(ip, n, "172.") && ip[6] == '.'
           && ((ip[4] == '1' && ip[5] >= '6' && ip[5] <= '9')
               || (ip[4] == '2' && ip[5] >= '0' && ip[5] <= '9')
               || (ip[4] == '3' && (ip[5] == '0' || ip[5] == '1')));
}

/* "received:ip:" + the address, its /24 and its /16 (the first 3 and 2 numbers) */
static int
emit_received_ip(PyObject *out, const Py_UCS1 *ip, Py_ssize_t n)
{
    static const Py_UCS1 tag[] = "received:ip:";
    Py_ssize_t dots[3], nd = 0, i;
    for (i = 0; i < n && nd < 3; i++) {
        if (ip[i] == '.')
            dots[nd++] = i;
    }
    if (append_word(out, tag, 12, ip, n) < 0 || append_word(out, tag, 12, ip, dots[2]) < 0)
        return -1;
    return append_word(out, tag, 12, ip, dots[1]);
}

/* _email_domains(s), each appended lower-cased after prefix ("<name>:"): _EMAIL_AT finds
 * an "@" after a local-part character ([\w.+-], its look-behind) followed by a domain,
 * [\w-]+(?:\.[\w-]+)+ (greedy; giving back characters never lets a "." follow, so the
 * longest such run is the match); a match starting right at the end of the last domain
 * kept is skipped, as _email_domains does */
static int
emit_domains(PyObject *out, const Py_UCS1 *s, Py_ssize_t n, const Py_UCS1 *prefix,
             Py_ssize_t np)
{
    const Py_UCS1 *p;
    Py_ssize_t pos = 0, kept_end = -1;
    while (pos < n && (p = memchr(s + pos, '@', (size_t)(n - pos))) != NULL) {
        Py_ssize_t at = p - s, j = at + 1, labels = 0;
        Py_UCS1 before = at > 0 ? s[at - 1] : 0;
        pos = at + 1; /* where the search goes on when there is no match here */
        if (!(cls[before] & C_DOMAIN) && before != '.' && before != '+')
            continue;
        while (j < n && (cls[s[j]] & C_DOMAIN))
            j++;
        if (j == at + 1)
            continue;
        while (j + 1 < n && s[j] == '.' && (cls[s[j + 1]] & C_DOMAIN)) {
            for (j += 2; j < n && (cls[s[j]] & C_DOMAIN); j++)
                ;
            labels++;
        }
        if (labels == 0)
            continue;
        pos = j; /* a match: the search goes on after it */
        if (at == kept_end)
            continue;
        kept_end = j;
        if (append_word(out, prefix, np, s + at + 1, j - at - 1) < 0)
            return -1;
    }
    return 0;
}

/* _PARAM's parameter name characters: [a-zA-Z*-] */
static int
param_char(Py_UCS1 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*' || c == '-';
}

/* The tokens _header_tokens takes from a Content-Type value t (unfolded and stripped):
 * "content-type:" + the main type (before the first ";", stripped, lower-cased), then
 * "charset:" + the value of the last parameter named charset (any case), lower-cased
 * and stripped of '"' at both ends, when there is one. The parameters are the matches of
 * _PARAM, ;\s*([a-zA-Z*-]+)\s*=\s*("[^"]*"|[^;\s]+), from left to right: each part of
 * it takes the longest run it can, as no shorter one could be followed by what comes
 * next. */
static int
emit_content_type(PyObject *out, const Py_UCS1 *t, Py_ssize_t m)
{
    static const Py_UCS1 ct_tag[] = "content-type:", cs_tag[] = "charset:";
    const Py_UCS1 *semi = memchr(t, ';', (size_t)m);
    Py_ssize_t a = 0, b = semi == NULL ? m : semi - t, pos;
    Py_ssize_t va = -1, vb = -1; /* the charset's value t[va:vb] */
    while (a < b && (cls[t[a]] & C_SPACE))
        a++;
    while (b > a && (cls[t[b - 1]] & C_SPACE))
        b--;
    if (append_word(out, ct_tag, 13, t + a, b - a) < 0)
        return -1;
    pos = semi == NULL ? m : semi - t;
    while (pos < m && (semi = memchr(t + pos, ';', (size_t)(m - pos))) != NULL) {
        Py_ssize_t i = semi - t + 1, k, ke, v0, v1;
        const Py_UCS1 *q;
        pos = i; /* where the search goes on when there is no match here */
        while (i < m && (cls[t[i]] & C_SPACE))
            i++;
        for (k = i; i < m && param_char(t[i]); i++)
            ;
        ke = i;
        if (ke == k)
            continue;
        while (i < m && (cls[t[i]] & C_SPACE))
            i++;
        if (i >= m || t[i] != '=')
            continue;
        for (i++; i < m && (cls[t[i]] & C_SPACE); i++)
            ;
        v0 = i;
        if (i < m && t[i] == '"'
            && (q = memchr(t + i + 1, '"', (size_t)(m - i - 1))) != NULL) {
            v1 = q - t + 1; /* "[^"]*" up to the next quote */
        }
        else {
            while (i < m && t[i] != ';' && !(cls[t[i]] & C_SPACE))
                i++;
            v1 = i;
            if (v1 == v0)
                continue;
        }
        pos = v1;
        if (ke - k == 7) {
            static const char charset[] = "charset";
            Py_ssize_t c;
            for (c = 0; c < 7 && low[t[k + c]] == (Py_UCS1)charset[c]; c++)
                ;
            if (c == 7) {
                va = v0;
                vb = v1;
            }
        }
    }
    if (va < 0)
        return 0;
    while (va < vb && t[va] == '"')
        va++;
    while (vb > va && t[vb - 1] == '"')
        vb--;
    return append_word(out, cs_tag, 8, t + va, vb - va);
}

/* one field of the list, as header_tokens reads it */
typedef struct {
    const Py_UCS1 *name, *value;
    Py_ssize_t nn, nv;
    Py_ssize_t next; /* the next field whose text goes with the same name, or -1 */
    int kind;
} Field;

/* one field name, in first-seen order */
typedef struct {
    Py_ssize_t field;       /* its first field */
    Py_ssize_t head, tail;  /* the fields whose texts it gathers (a list by Field.next), or -1 */
} Name;

PyDoc_STRVAR(header_tokens_doc,
"header_tokens(fields, out, max_word, url_paths) -> bool\n\n"
"tokens._py_header_tokens(fields, out) for a list of (name, value) str tuples when\n"
"every name is ASCII and every value it reads is ASCII with no '=?' (Date values\n"
"are never read): header:<name> per name, the Subject's words and URLs, the\n"
"Content-Type and charset, address domains, the other fields' words per name and\n"
"the client address of the topmost Received from outside. max_word is MAX_WORD,\n"
"url_paths URL_PATHS. False, with nothing appended, when a field does not qualify.");

static PyObject *
cw_header_tokens(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *fields, *out, *seen = NULL, *result = NULL;
    Py_ssize_t count, i, max_word = 0, n_names = 0, longest_name = 0, longest_value = 0;
    Py_ssize_t joined_room = 0, ip_n = 0;
    Field *fs = NULL;
    Name *names = NULL;
    Py_UCS1 *prefix = NULL, *scratch = NULL, *joined = NULL;
    Py_UCS1 ip[16]; /* the client address: at most 15 characters */
    int url_paths, have_ip = 0;

    if (check_nargs("header_tokens", nargs, 4) < 0)
        return NULL;
    fields = args[0];
    out = args[1];
    if (check_list(fields, "fields") < 0 || check_list(out, "out") < 0
        || get_count(args[2], "max_word", &max_word) < 0
        || (url_paths = get_flag(args[3], "url_paths")) < 0)
        return NULL;
    count = PyList_GET_SIZE(fields);
    fs = PyMem_Malloc((size_t)(count + 1) * sizeof(Field));
    names = PyMem_Malloc((size_t)(count + 1) * sizeof(Name));
    if (fs == NULL || names == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* every field checked (and its characters noted) before anything is appended: one
     * that needs the Python code sends the whole list there */
    for (i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(fields, i);
        Field *f = &fs[i];
        int ok;
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "fields must hold (name, value) tuples, not %.80s",
                         Py_TYPE(item)->tp_name);
            goto done;
        }
        if (check_str(PyTuple_GET_ITEM(item, 0), "a field's name") < 0
            || check_str(PyTuple_GET_ITEM(item, 1), "a field's value") < 0)
            goto done;
        if ((ok = ascii_chars(PyTuple_GET_ITEM(item, 0), &f->name, &f->nn)) <= 0)
            goto not_ascii;
        f->kind = field_kind(f->name, f->nn);
        f->next = -1;
        f->value = NULL;
        f->nv = 0;
        if (f->kind != K_SKIP) {
            ok = ascii_chars(PyTuple_GET_ITEM(item, 1), &f->value, &f->nv);
            if (ok <= 0 || has_encoded_word(f->value, f->nv))
                goto not_ascii;
        }
        if (f->nn > longest_name)
            longest_name = f->nn;
        if (f->nv > longest_value)
            longest_value = f->nv;
        joined_room += (f->nv < FIELD_CAP ? f->nv : FIELD_CAP) + 1;
    }
    prefix = PyMem_Malloc((size_t)longest_name + 1);  /* "<name>:" */
    scratch = PyMem_Malloc((size_t)longest_value + 1); /* a value unfolded */
    joined = PyMem_Malloc((size_t)joined_room + 1);   /* a name's texts joined by "\n" */
    seen = PyDict_New(); /* name -> its index in names (a dict: names are many at times) */
    if (prefix == NULL || scratch == NULL || joined == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (seen == NULL)
        goto done;
    for (i = 0; i < count; i++) {
        Field *f = &fs[i];
        PyObject *name = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, i), 0);
        PyObject *found = PyDict_GetItemWithError(seen, name); /* (borrowed) */
        Name *nm;
        Py_ssize_t start, end, len;
        if (found != NULL) {
            nm = &names[PyLong_AsSsize_t(found)];
        }
        else {
            static const Py_UCS1 tag[] = "header:";
            PyObject *index;
            int r;
            if (PyErr_Occurred())
                goto done;
            index = PyLong_FromSsize_t(n_names);
            if (index == NULL)
                goto done;
            r = PyDict_SetItem(seen, name, index);
            Py_DECREF(index);
            if (r < 0)
                goto done;
            nm = &names[n_names++];
            nm->field = i;
            nm->head = nm->tail = -1;
            /* "header:" + the name as given (append_word would lower-case it) */
            {
                Py_UCS1 *p = NULL;
                PyObject *token = new_ascii(7 + f->nn, &p);
                if (token != NULL) {
                    memcpy(p, tag, 7);
                    memcpy(p + 7, f->name, (size_t)f->nn);
                }
                if (append_new(out, token) < 0)
                    goto done;
            }
        }
        switch (f->kind) {
        case K_SKIP:
            continue;
        case K_SUBJECT: /* its words (no pairs) and URLs, case-blind scheme */
            if (emit_words(out, f->value, f->nv, (const Py_UCS1 *)"subject:", 8, 0, max_word) < 0
                || emit_urls(out, f->value, f->nv, 1, url_paths) < 0)
                goto done;
            continue;
        case K_CONTENT_TYPE: /* the main type and charset, read unfolded */
            len = unfold(f->value, f->nv, scratch, &start);
            if (emit_content_type(out, scratch + start, len) < 0)
                goto done;
            continue;
        case K_RECEIVED: /* the first address of the topmost Received naming one from outside */
            if (!have_ip && find_ip(f->value, f->nv, &start, &end)
                && !internal_ip(f->value + start, end - start)) {
                ip_n = end - start;
                memcpy(ip, f->value + start, (size_t)ip_n);
                have_ip = 1;
            }
            break;
        case K_ADDRESS:
            memcpy(prefix, f->name, (size_t)f->nn);
            prefix[f->nn] = ':';
            if (memchr(f->value, '@', (size_t)f->nv) != NULL
                && emit_domains(out, f->value, f->nv, prefix, f->nn + 1) < 0)
                goto done;
            break;
        default:
            break;
        }
        /* the text goes with its name's words */
        if (nm->tail < 0)
            nm->head = i;
        else
            fs[nm->tail].next = i;
        nm->tail = i;
    }
    /* the words of each name's texts joined by "\n", names in first-seen order; a text
     * longer than FIELD_CAP is cut to that after unfolding (_capped) */
    for (i = 0; i < n_names; i++) {
        Name *nm = &names[i];
        const Field *first = &fs[nm->field];
        Py_ssize_t j, len = 0;
        if (nm->head < 0)
            continue;
        for (j = nm->head; j >= 0; j = fs[j].next) {
            const Field *f = &fs[j];
            if (j != nm->head)
                joined[len++] = '\n';
            if (f->nv <= FIELD_CAP) {
                memcpy(joined + len, f->value, (size_t)f->nv);
                len += f->nv;
            }
            else {
                Py_ssize_t start, n = unfold(f->value, f->nv, scratch, &start);
                n = n < FIELD_CAP ? n : FIELD_CAP;
                memcpy(joined + len, scratch + start, (size_t)n);
                len += n;
            }
        }
        memcpy(prefix, first->name, (size_t)first->nn);
        prefix[first->nn] = ':';
        if (emit_words(out, joined, len, prefix, first->nn + 1, 0, max_word) < 0)
            goto done;
    }
    if (have_ip) {
        if (emit_received_ip(out, ip, ip_n) < 0)
            goto done;
    }
    else if (append_new(out, PyUnicode_FromString("received:ip:none")) < 0) {
        goto done;
    }
    result = Py_True;
    Py_INCREF(result);
    goto done;
not_ascii:
    if (!PyErr_Occurred()) {
        result = Py_False;
        Py_INCREF(result);
    }
done:
    Py_XDECREF(seen);
    PyMem_Free(fs);
    PyMem_Free(names);
    PyMem_Free(prefix);
    PyMem_Free(scratch);
    PyMem_Free(joined);
    return result;
}

static PyMethodDef cwords_methods[] = {
    {"words", (PyCFunction)(void (*)(void))cw_words, METH_FASTCALL, words_doc},
    {"field_words", (PyCFunction)(void (*)(void))cw_field_words, METH_FASTCALL, field_words_doc},
    {"url_tokens", (PyCFunction)(void (*)(void))cw_url_tokens, METH_FASTCALL, url_tokens_doc},
    {"header_fields", cw_header_fields, METH_O, header_fields_doc},
    {"header_tokens", (PyCFunction)(void (*)(void))cw_header_tokens, METH_FASTCALL,
     header_tokens_doc},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef cwords_module = {
    PyModuleDef_HEAD_INIT,
    "_cwords",
    "The tokenizer's word, pair and URL scans and its header loop on ASCII text\n"
    "(labkit.filters.tokens is the reference; these give the same tokens in the same\n"
    "order).",
    -1,
    cwords_methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__cwords(void)
{
    init_tables();
    return PyModule_Create(&cwords_module);
}

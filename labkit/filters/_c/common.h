/* Helpers shared by the compiled tokenizer modules (words.c, html.c): argument checks
 * that raise TypeError with the argument's name, the ASCII test, and list appends that
 * take over a new reference.  static inline, so a module that does not use one of them
 * compiles without an "unused function" warning. */
#ifndef LABKIT_FILTERS_C_COMMON_H
#define LABKIT_FILTERS_C_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* 1 and the characters when s is ASCII, 0 when it is not, -1 on error */
static inline int
ascii_chars(PyObject *s, const Py_UCS1 **chars, Py_ssize_t *n)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) /* (a no-op from 3.12 on, and deprecated there) */
        return -1;
#endif
    if (!PyUnicode_IS_ASCII(s))
        return 0;
    *chars = PyUnicode_1BYTE_DATA(s);
    *n = PyUnicode_GET_LENGTH(s);
    return 1;
}

/* out.append(s), taking over the reference to s (which may be NULL: an error) */
static inline int
append_new(PyObject *out, PyObject *s)
{
    int r;
    if (s == NULL)
        return -1;
    r = PyList_Append(out, s);
    Py_DECREF(s);
    return r;
}

/* 0 when o is exactly a list, else -1 with a TypeError naming the argument */
static inline int
check_list(PyObject *o, const char *what)
{
    if (!PyList_CheckExact(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list, not %.80s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    return 0;
}

static inline int
check_str(PyObject *s, const char *what)
{
    if (!PyUnicode_CheckExact(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.80s", what, Py_TYPE(s)->tp_name);
        return -1;
    }
    return 0;
}

static inline int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want, nargs);
        return -1;
    }
    return 0;
}

#endif /* LABKIT_FILTERS_C_COMMON_H */

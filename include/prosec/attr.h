/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place where compiler attributes are spelled (STYLE.md): every
 * other file uses these wrappers, so a port to another compiler edits only
 * this header.
 */
#ifndef PROSEC_ATTR_H
#define PROSEC_ATTR_H

#if defined(__GNUC__) || defined(__clang__)
#define PROSEC_WARN_UNUSED       __attribute__((warn_unused_result))
#define PROSEC_API               __attribute__((visibility("default")))
#define PROSEC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PROSEC_UNUSED            __attribute__((unused))
#else
#define PROSEC_WARN_UNUSED
#define PROSEC_API
#define PROSEC_PRINTF(fmt, args)
#define PROSEC_UNUSED
#endif

/*
 * PROSEC_TARGET_PCLMUL and PROSEC_TARGET_PMULL compile one function for a
 * carry-less multiply instruction the build does not otherwise assume:
 * PCLMULQDQ (with SSE4.1) on x86-64, PMULL on AArch64.  Each is defined
 * only where the compiler can do this, so its absence means "no such
 * code"; a caller checks the CPU at run time before calling the function.
 * Where the build already targets AES/PMULL, the AArch64 one is empty.
 * GCC and Clang spell the AArch64 extension differently.
 */
#if defined(__GNUC__) || defined(__clang__)
#if defined(__x86_64__)
#define PROSEC_TARGET_PCLMUL __attribute__((target("pclmul,sse4.1")))
#elif defined(__aarch64__) &&                                                  \
    (defined(__ARM_FEATURE_AES) || defined(__ARM_FEATURE_CRYPTO))
#define PROSEC_TARGET_PMULL
#elif defined(__aarch64__) && defined(__clang__)
#define PROSEC_TARGET_PMULL __attribute__((target("aes")))
#elif defined(__aarch64__)
#define PROSEC_TARGET_PMULL __attribute__((target("+crypto")))
#endif
#endif

#endif

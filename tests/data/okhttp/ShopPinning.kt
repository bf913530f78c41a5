/*
 * Copyright 2026 Example Shop GmbH
 */
package com.example.shop.core.network

import okhttp3.CertificatePinner
import okhttp3.OkHttpClient
import java.util.concurrent.TimeUnit

/**
 * TLS pins of the shop backend. When rotating, add the new key as a backup
 * FIRST, ship, wait for adoption, then rotate (see docs/pinning.md).
 */
object ShopPinning {
    const val API_HOST = "api.example.com"
    private const val CDN_DOMAIN = "cdn.example.com"

    // leaf key of api.example.com (2026 key) and the offline backup key
    private const val PIN_API_CURRENT = "sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
    private const val PIN_API_BACKUP = "sha256/jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="

    /* intermediate CA of the CDN provider and its cross-signed successor */
    private val CDN_PINS = arrayOf(
        "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=",
        "sha256/++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI=", // cross-signed
    )

    val certificatePinner: CertificatePinner = CertificatePinner.Builder()
        .add(API_HOST, PIN_API_CURRENT, PIN_API_BACKUP)
        .add("**.$CDN_DOMAIN", *CDN_PINS)
        .add(
            "*.img.example.com",
            "sha256/hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc=", // TODO: backup pin
        )
        .add("Checkout.Example.com", PIN_API_CURRENT)
        .add("checkout.example.com", "sha256/diGVwiVYbubAI3RW4hB9xU8e/CH2GnkuvVFZE8zmgzI=")
        .build()

    fun client(): OkHttpClient = OkHttpClient.Builder()
        .connectTimeout(15, TimeUnit.SECONDS)
        .certificatePinner(certificatePinner)
        .build()
}

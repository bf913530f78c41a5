package com.example.shop.network

import com.example.shop.BuildConfig
import okhttp3.CertificatePinner

class PinnerFactory(private val hostName: String) {
    fun create(): CertificatePinner = CertificatePinner.Builder()
        .add("api.example.com", "sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=")
        .add(
            hostName,
            "sha256/jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=",
        )
        .build()
}

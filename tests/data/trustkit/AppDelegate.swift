//
//  AppDelegate.swift
//  Shop
//

import UIKit
import TrustKit

let shopAPIHost = "api.example.com"

@UIApplicationMain
class AppDelegate: UIResponder, UIApplicationDelegate {

    var window: UIWindow?

    func application(_ application: UIApplication, didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]?) -> Bool {
        TrustKit.setLoggerBlock { (message) in
            print("TrustKit log: \(message)")
        }

        let trustKitConfig = [
            kTSKSwizzleNetworkDelegates: false,
            kTSKPinnedDomains: [
                shopAPIHost: [
                    kTSKIncludeSubdomains: true,
                    kTSKExpirationDate: "2027-06-01",
                    kTSKPublicKeyHashes: [
                        "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=",
                        "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=",
                    ],
                    kTSKReportUris: ["https://reports.example.com/log_report"],
                    kTSKDisableDefaultReportUri: true,
                ],
                "status.api.example.com": [
                    kTSKExcludeSubdomainFromParentPolicy: true
                ],
                // report-only while the new CDN is rolled out
                "analytics.example.com": [
                    kTSKEnforcePinning: false,
                    kTSKPublicKeyHashes: [
                        "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=",
                        "++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI="
                    ],],]] as [String : Any]

        TrustKit.initSharedInstance(withConfiguration: trustKitConfig)
        return true
    }
}

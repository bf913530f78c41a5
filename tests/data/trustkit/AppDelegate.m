//
//  AppDelegate.m
//  Shop
//
//  Certificate pinning for the Shop API, set up as in TrustKit's
//  getting-started guide.
//

#import "AppDelegate.h"
#import <TrustKit/TrustKit.h>

static NSString *const kShopAPIHost = @"api.example.com";

@interface AppDelegate ()
@end

@implementation AppDelegate

- (BOOL)application:(UIApplication *)application didFinishLaunchingWithOptions:(NSDictionary *)launchOptions
{
    // Override point for customization after application launch.
    [TrustKit setLoggerBlock:^(NSString *message) {
        NSLog(@"TrustKit: %@", message);
    }];

    NSDictionary *trustKitConfig =
    @{
      kTSKSwizzleNetworkDelegates: @NO,
      // The list of domains we want to pin and their configuration
      kTSKPinnedDomains: @{
              kShopAPIHost : @{
                      // Pin all subdomains of the API host
                      kTSKIncludeSubdomains: @YES,
                      kTSKExpirationDate: @"2027-06-01",
                      // The pinned public keys' Subject Public Key Info hashes
                      kTSKPublicKeyHashes : @[
                              @"C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", // leaf key
                              @"jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=", /* backup */
                              ],
                      kTSKReportUris: @[@"https://reports.example.com/log_report"],
                      kTSKDisableDefaultReportUri: @YES,
                      },
              // status pages are served by a third party: not pinned
              @"status.api.example.com" : @{
                      kTSKExcludeSubdomainFromParentPolicy: @YES
                      },
              @"analytics.example.com" : @{
                      // Do not block connections if pinning validation failed
                      kTSKEnforcePinning: @NO,
                      kTSKPublicKeyHashes : @[
                              @"r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=",
                              @"++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI="
                              ]
                      },
              }};

    [TrustKit initSharedInstanceWithConfiguration:trustKitConfig];
    return YES;
}

@end

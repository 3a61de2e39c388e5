import AirlockConfiguration
import AirlockServer
import ArgumentParser
import Foundation
import Hummingbird
import Embeddings
import Inspection
import Logging
import Redis
import SemanticCache
import Upstream

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the proxy.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try loadConfiguration(options)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "airlock")
        let server: AirlockServer
        do {
            server = try await AirlockApplication.make(configuration: configuration, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        let rules = server.rules
        logger.notice(
            "airlock starting",
            metadata: [
                "listen": "\(configuration.listenHost):\(configuration.listenPort)",
                "upstream": "\(URLRedaction.redacting(configuration.upstream.url))", "upstream_auth": "\(configuration.upstream.auth.rawValue)",
            ])
        if let rules {
            let set = rules.current
            logger.notice(
                "rules loaded",
                metadata: [
                    "rules_dir": "\(configuration.rules.directory)", "rules_version": "\(set.version)",
                    "enabled_rules": "\(set.enabledRules.count)",
                ])
        } else {
            logger.notice("inspection is off (rules.enabled: false): prompts and answers pass unchecked")
        }
        logger.notice("admin access", metadata: ["admin": "\(server.adminAccess.summary)"])
        let app = server.makeApplication()
        try await app.runService()
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.", subcommands: [Print.self, Schema.self])

    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema", abstract: "List every setting: key, environment variables, default, expected form.")
        @Flag(name: .long, help: "Print JSON.") var json = false
        func run() async throws {
            let settings = AirlockConfiguration.settings
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(settings), as: UTF8.self))
            } else {
                for setting in settings {
                    let env = setting.environment.joined(separator: ", ")
                    print("\(setting.key)  [\(env)]  default: \(setting.defaultValue ?? "none")  — \(setting.expected)")
                }
            }
        }
    }

    struct Print: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "print", abstract: "Print the effective configuration, secrets masked.")
        @OptionGroup var options: ConfigOption
        func run() async throws {
            let configuration = try loadConfiguration(options)
            print(configuration.rendered(), terminator: "")
        }
    }
}

func loadConfiguration(_ options: ConfigOption) throws -> AirlockConfiguration {
    let environment = ProcessInfo.processInfo.environment
    var path = options.config ?? environment["AIRLOCK_CONFIG"]
    if path == nil, FileManager.default.fileExists(atPath: "airlock.yaml") { path = "airlock.yaml" }
    do {
        return try AirlockConfiguration.load(path: path, environment: environment)
    } catch let error as ConfigurationError {
        throw ValidationError(error.description)
    }
}
